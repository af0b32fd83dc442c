import { getEventListeners } from "node:events";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { registerHealth } from "./health.js";

test("Watch streams each change once, and a long stream does not pile up abort listeners (Node warns past 10)", async () => {
  let ticks = 0;
  let handlerSignal: AbortSignal | undefined;
  let listenersAfter50: number | undefined;
  // SERVING for 50 re-evaluations of the one stream, then NOT_SERVING.
  const check = () => {
    ticks++;
    if (ticks === 50) listenersAfter50 = getEventListeners(handlerSignal!, "abort").length;
    return ticks <= 50 ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  };
  const transport = createRouterTransport((router) => registerHealth(router, ["svc"], check, 1), {
    router: { interceptors: [(next) => (req) => ((handlerSignal = req.signal), next(req))] },
  });
  const abort = new AbortController();
  const seen: ServingStatus[] = [];
  for await (const r of createClient(Health, transport).watch({ service: "svc" }, { signal: abort.signal })) {
    seen.push(r.status);
    if (seen.length > 1) break;
  }
  abort.abort();
  expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  expect(ticks).toBeGreaterThan(50);
  expect(listenersAfter50).toBeLessThan(5);
});
