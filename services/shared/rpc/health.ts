import { setTimeout as sleep } from "node:timers/promises";
import type { ConnectRouter } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthListResponseSchema,
} from "../../../gen/grpc/health/v1/health_pb.js";

export { ServingStatus };

/** Answers "is this service serving?"; "" is the whole server. Evaluated on every call. */
export type HealthCheck = (service: string) => ServingStatus | undefined;

/** Registers grpc.health.v1.Health (Check, List, Watch) answering from `check`; Watch re-evaluates every `watchEveryMs`. */
export function registerHealth(router: ConnectRouter, services: string[], check: HealthCheck, watchEveryMs = 1000): void {
  const statusOf = (service: string): ServingStatus | undefined =>
    service === "" || services.includes(service) ? (check(service) ?? ServingStatus.SERVING) : undefined;
  router.service(Health, {
    check(req) {
      const status = statusOf(req.service);
      if (status === undefined) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status };
    },
    list() {
      const statuses: Record<string, ReturnType<typeof create<typeof HealthCheckResponseSchema>>> = {};
      for (const s of ["", ...services]) statuses[s] = create(HealthCheckResponseSchema, { status: statusOf(s) });
      return create(HealthListResponseSchema, { statuses });
    },
    async *watch(req, ctx) {
      let last: ServingStatus | undefined;
      while (!ctx.signal.aborted) {
        const status = statusOf(req.service) ?? ServingStatus.SERVICE_UNKNOWN;
        if (status !== last) {
          last = status;
          yield { status };
        }
        // timers/promises removes its abort listener when the timer fires: one stream adds none per tick.
        await sleep(watchEveryMs, undefined, { signal: ctx.signal }).catch(() => undefined);
      }
    },
  });
}
