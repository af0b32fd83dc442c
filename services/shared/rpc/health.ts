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

/** Registers grpc.health.v1.Health (Check, List, Watch) answering from `check`. */
export function registerHealth(router: ConnectRouter, services: string[], check: HealthCheck): void {
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
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 1000);
          ctx.signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
        });
      }
    },
  });
}
