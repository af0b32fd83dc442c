import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Cluster } from "../../gen/hyperfleet/v1/cluster_pb.js";
import type { NodePool } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import { Phase } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import type { ApiClient } from "../shared/api-client.js";
import type { ReconcileData } from "../shared/events/index.js";
import type { ResourceSnapshot } from "./core/decide.js";

/** A resource as the poll loop needs it: what to decide on and what to put in the event. */
export interface DueResource extends ResourceSnapshot {
  ref: ReconcileData;
}

export interface ResourcePage {
  resources: DueResource[];
  nextPageToken: string;
}

/** Reads resources from the API page by page, filtered server-side (the Sentinel's view of the API). */
export interface ResourceLister {
  listPage(filter: string, pageToken: string, pageSize: number): Promise<ResourcePage>;
  get(id: string): Promise<DueResource>;
}

/** Maps a Cluster or NodePool to what the Sentinel needs; nodepool events carry their owner (spec §5). */
export function toDue(c: Cluster | NodePool): DueResource {
  const ref: ReconcileData =
    c.$typeName === "hyperfleet.v1.NodePool"
      ? { id: c.id, kind: "NodePool", href: c.href, generation: Number(c.generation), owner_references: { id: c.clusterId, kind: "Cluster", href: `/api/hyperfleet/v1/clusters/${c.clusterId}` } }
      : { id: c.id, kind: "Cluster", href: c.href, generation: Number(c.generation) };
  return {
    generation: Number(c.generation),
    observedGeneration: Number(c.status?.observedGeneration ?? 0n),
    phase: c.status?.phase === Phase.READY ? "Ready" : "NotReady",
    lastUpdatedTime: c.status?.lastUpdatedTime ? timestampDate(c.status.lastUpdatedTime) : new Date(0),
    ref,
  };
}

/** Lists clusters, soft-deleted ones included: they still need events so adapters can clean up. */
export function createClusterLister(api: ApiClient): ResourceLister {
  return {
    async listPage(filter, pageToken, pageSize) {
      const res = await api.clusters.listClusters({ filter, pageToken, pageSize, showDeleted: true });
      return { resources: res.clusters.map(toDue), nextPageToken: res.nextPageToken };
    },
    async get(id) {
      return toDue(await api.clusters.getCluster({ id }));
    },
  };
}

/** Lists nodepools across clusters, soft-deleted ones included. */
export function createNodePoolLister(api: ApiClient): ResourceLister {
  return {
    async listPage(filter, pageToken, pageSize) {
      const res = await api.nodepools.listNodePools({ filter, pageToken, pageSize, showDeleted: true });
      return { resources: res.nodepools.map(toDue), nextPageToken: res.nextPageToken };
    },
    async get(id) {
      return toDue(await api.nodepools.getNodePool({ id }));
    },
  };
}
