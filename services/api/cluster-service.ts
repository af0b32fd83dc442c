import type { ServiceImpl } from "@connectrpc/connect";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { ResourceView } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import type { Logger } from "../shared/log.js";
import type { ActorOf } from "./actor.js";
import { InvalidArgumentError } from "./core/domain-errors.js";
import type { FilterSchema } from "./core/filter.js";
import { checkCreate, checkGet, checkForceDelete, checkList, checkUpdate, COMMON_FILTER_FIELDS, DERIVED_FILTERS, encodePageToken, requireId } from "./resource-requests.js";
import type { ClusterStore } from "./store/cluster-store.js";
import type { ReadView } from "./store/resource-store.js";
import { clusterToPb, type RowView } from "./store/rows.js";
import { ClusterSchema } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { create } from "@bufbuild/protobuf";
import { toConnectError } from "./errors.js";
import { watchPage, watchStream, type ChangeBell, type Watchers } from "./watch.js";
import type { ChangeFeed } from "./store/change-feed.js";
import { checkWatch } from "./resource-requests.js";

export interface ClusterServiceDeps {
  clusters: ClusterStore;
  now: () => Date;
  newId: () => string;
  log: Logger;
  /** Who makes a change: the authenticated caller (actor.ts). */
  actor: ActorOf;
  /** The change feed, its doorbell and the process's watchers (watch.ts). */
  watch: WatchDeps;
}

export interface WatchDeps {
  feed: ChangeFeed;
  bell: ChangeBell;
  watchers: Watchers;
}

/** Fields the list filter accepts for clusters, and their columns. */
export const CLUSTER_FILTER: FilterSchema = { labelsColumn: "labels", fields: COMMON_FILTER_FIELDS, derived: DERIVED_FILTERS };

/** A get's view, once checkGet has accepted it. Shared with NodePoolService. */
export function getView(view: ResourceView, full: boolean): ReadView {
  return full ? "full" : view === ResourceView.STATUS ? "status" : "basic";
}

/** A list's view: BASIC (also when unspecified) or STATUS; FULL is for gets only. Shared with NodePoolService. */
export function checkListView(view: ResourceView): RowView {
  if (view === ResourceView.UNSPECIFIED || view === ResourceView.BASIC) return "basic";
  if (view === ResourceView.STATUS) return "status";
  throw new InvalidArgumentError([{ field: "view", description: `${view === ResourceView.FULL ? "RESOURCE_VIEW_FULL is for a get only" : `unknown view ${view}`}: use RESOURCE_VIEW_BASIC or RESOURCE_VIEW_STATUS`, reason: "INVALID_VALUE" }]);
}

/** ClusterService: validates, then delegates to the store. */
export function createClusterService(deps: ClusterServiceDeps) {
  return {
    async createCluster(req, ctx) {
      const spec = checkCreate(req, "Cluster");
      return deps.clusters.create({ id: deps.newId(), name: req.name, labels: req.labels, spec, actor: deps.actor(ctx) }, deps.now());
    },

    async getCluster(req) {
      return deps.clusters.get(req.id, getView(req.view, checkGet(req)));
    },

    async listClusters(req) {
      const view = checkListView(req.view);
      const q = checkList(req, CLUSTER_FILTER);
      const page = await deps.clusters.list({ ...q, showDeleted: req.showDeleted, view });
      // total_size is counted on the first page only; later pages carry 0 (the proto says so).
      return { clusters: page.items, nextPageToken: encodePageToken(page.nextAfterId), totalSize: BigInt(page.total ?? 0) };
    },

    async updateCluster(req, ctx) {
      return deps.clusters.update(req.id, checkUpdate(req), deps.actor(ctx), deps.now());
    },

    async deleteCluster(req, ctx) {
      requireId(req.id);
      return deps.clusters.softDelete(req.id, deps.actor(ctx), deps.now());
    },

    async *watchClusters(req, ctx) {
      try {
        const view = checkListView(req.view);
        const { where, token } = checkWatch(req, CLUSTER_FILTER, "clusters");
        const q = { kind: "clusters" as const, caller: deps.actor(ctx), where, showDeleted: req.showDeleted, view, token, sendInitial: req.sendInitial };
        const stream = watchStream(
          {
            ...deps.watch,
            log: deps.log,
            list: (afterId) => deps.clusters.list({ where, pageSize: watchPage(view), afterId, showDeleted: req.showDeleted, view }),
            toPb: (row) => clusterToPb(row),
            removedPb: (r) => create(ClusterSchema, { id: r.id, kind: "Cluster" }),
          },
          deps.watch.watchers,
          q,
          ctx.signal,
        );
        for await (const e of stream) yield { type: e.type, cluster: e.resource, resumeToken: e.resumeToken };
      } catch (err) {
        // The error interceptor sees a stream's start only: what the stream throws later is translated (and logged) here.
        if (ctx.signal.aborted) return;
        if (!(err instanceof InvalidArgumentError)) deps.log.warn({ kind: "clusters", err: err instanceof Error ? err.message : String(err) }, "watch stream ended with an error; its client resumes from its last token");
        throw toConnectError(err);
      }
    },

    async forceDeleteCluster(req, ctx) {
      checkForceDelete(req);
      const { childrenRemoved } = await deps.clusters.forceDelete(req.id);
      deps.log.warn({ clusterId: req.id, reason: req.reason, actor: deps.actor(ctx), nodepoolsRemoved: childrenRemoved }, "cluster force-deleted");
      return { nodepoolsRemoved: BigInt(childrenRemoved) };
    },
  } satisfies ServiceImpl<typeof ClusterService>;
}
