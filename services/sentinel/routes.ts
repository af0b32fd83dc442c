import type { ConnectRouter } from "@connectrpc/connect";
import { SentinelService } from "../../gen/hyperfleet/v1/sentinel_pb.js";
import { createSentinelService, type SentinelServiceDeps } from "./sentinel-service.js";

export const SENTINEL_SERVICES = [SentinelService];

export function routes(deps: SentinelServiceDeps) {
  return (router: ConnectRouter) => {
    router.service(SentinelService, createSentinelService(deps));
  };
}
