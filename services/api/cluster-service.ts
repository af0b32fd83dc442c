import type { ServiceImpl } from "@connectrpc/connect";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import type { Logger } from "../shared/log.js";
import { actorOf } from "./actor.js";
import type { FilterSchema } from "./core/filter.js";
import { checkCreate, checkGet, checkForceDelete, checkList, checkUpdate, COMMON_FILTER_FIELDS, DERIVED_FILTERS, encodePageToken, requireId } from "./resource-requests.js";
import type { ClusterStore } from "./store/cluster-store.js";

export interface ClusterServiceDeps {
  clusters: ClusterStore;
  now: () => Date;
  newId: () => string;
  log: Logger;
}

/** Fields the list filter accepts for clusters, and their columns. */
export const CLUSTER_FILTER: FilterSchema = { labelsColumn: "labels", fields: COMMON_FILTER_FIELDS, derived: DERIVED_FILTERS };

/** ClusterService: validates, then delegates to the store. */
export function createClusterService(deps: ClusterServiceDeps) {
  return {
    async createCluster(req, ctx) {
      const spec = checkCreate(req, "Cluster");
      return deps.clusters.create({ id: deps.newId(), name: req.name, labels: req.labels, spec, actor: actorOf(ctx.requestHeader) }, deps.now());
    },

    async getCluster(req) {
      return deps.clusters.get(req.id, checkGet(req));
    },

    async listClusters(req) {
      const q = checkList(req, CLUSTER_FILTER);
      const page = await deps.clusters.list({ ...q, showDeleted: req.showDeleted });
      return { clusters: page.items, nextPageToken: encodePageToken(page.nextAfterId), totalSize: BigInt(page.total) };
    },

    async updateCluster(req, ctx) {
      return deps.clusters.update(req.id, checkUpdate(req), actorOf(ctx.requestHeader), deps.now());
    },

    async deleteCluster(req, ctx) {
      requireId(req.id);
      return deps.clusters.softDelete(req.id, actorOf(ctx.requestHeader), deps.now());
    },

    async forceDeleteCluster(req, ctx) {
      checkForceDelete(req);
      const { childrenRemoved } = await deps.clusters.forceDelete(req.id);
      deps.log.warn({ clusterId: req.id, reason: req.reason, actor: actorOf(ctx.requestHeader), nodepoolsRemoved: childrenRemoved }, "cluster force-deleted");
      return { nodepoolsRemoved: BigInt(childrenRemoved) };
    },
  } satisfies ServiceImpl<typeof ClusterService>;
}
