import type { ConnectRouter } from "@connectrpc/connect";
import { AdapterService } from "../../gen/hyperfleet/v1/adapter_pb.js";
import { createAdapterService, type AdapterServiceDeps } from "./adapter-service.js";

export const ADAPTER_SERVICES = [AdapterService];

export function routes(deps: AdapterServiceDeps) {
  return (router: ConnectRouter) => {
    router.service(AdapterService, createAdapterService(deps));
  };
}
