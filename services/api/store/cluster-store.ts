import type { Cluster } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import type { NodePool } from "../../../gen/hyperfleet/v1/nodepool_pb.js";
import type { Knex } from "./db.js";
import { createResourceStore, type Kinds, type ResourceStore, type ResourceStoreOptions } from "./resource-store.js";
import { clusterToPb, nodePoolToPb } from "./rows.js";

export type { ListQuery, NewResource, Page, ReadView, ResourceChange } from "./resource-store.js";

export type ClusterStore = ResourceStore<Cluster>;
export type NodePoolStore = ResourceStore<NodePool>;

/** Required adapters per kind (spec §4: configuration). */
export interface RequiredAdapters {
  clusters: readonly string[];
  nodepools: readonly string[];
}

/** The kinds the API stores. */
export function kindsOf(required: RequiredAdapters): Kinds {
  return {
    cluster: { kind: "Cluster", table: "clusters", required: required.clusters },
    nodepool: { kind: "NodePool", table: "nodepools", required: required.nodepools },
  };
}

/** Clusters in Postgres. */
export function createClusterStore(db: Knex, required: RequiredAdapters, opts?: ResourceStoreOptions): ClusterStore {
  const kinds = kindsOf(required);
  return createResourceStore(db, kinds.cluster, kinds, clusterToPb, opts);
}

/** NodePools in Postgres, each under a live cluster. */
export function createNodePoolStore(db: Knex, required: RequiredAdapters, opts?: ResourceStoreOptions): NodePoolStore {
  const kinds = kindsOf(required);
  return createResourceStore(db, kinds.nodepool, kinds, nodePoolToPb, opts);
}
