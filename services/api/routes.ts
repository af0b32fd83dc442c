import type { ConnectRouter } from "@connectrpc/connect";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { NodePoolService } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import { StatusService } from "../../gen/hyperfleet/v1/status_pb.js";
import { createClusterService, type ClusterServiceDeps } from "./cluster-service.js";
import { createNodePoolService, type NodePoolServiceDeps } from "./nodepool-service.js";
import { createStatusService, type StatusServiceDeps } from "./status-service.js";

/** The API's own services, for health and reflection. */
export const API_SERVICES = [ClusterService, NodePoolService, StatusService];

/** Registers every API service on a router. */
export function routes(deps: ClusterServiceDeps & NodePoolServiceDeps & StatusServiceDeps) {
  return (router: ConnectRouter) => {
    router.service(ClusterService, createClusterService(deps));
    router.service(NodePoolService, createNodePoolService(deps));
    router.service(StatusService, createStatusService(deps));
  };
}
