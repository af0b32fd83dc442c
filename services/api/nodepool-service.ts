import type { ServiceImpl } from "@connectrpc/connect";
import { NodePoolService } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import type { Logger } from "../shared/log.js";
import type { ActorOf } from "./actor.js";
import type { FilterSchema } from "./core/filter.js";
import { checkCreate, checkGet, checkForceDelete, checkOptionalId, checkList, checkUpdate, COMMON_FILTER_FIELDS, DERIVED_FILTERS, encodePageToken, requireId } from "./resource-requests.js";
import type { NodePoolStore } from "./store/cluster-store.js";
import { checkListView, getView, type WatchDeps } from "./cluster-service.js";
import { NodePoolSchema } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import { create } from "@bufbuild/protobuf";
import { toConnectError } from "./errors.js";
import { InvalidArgumentError } from "./core/domain-errors.js";
import { watchPage, watchStream } from "./watch.js";
import { nodePoolToPb } from "./store/rows.js";
import { checkWatch } from "./resource-requests.js";

export interface NodePoolServiceDeps {
  nodepools: NodePoolStore;
  now: () => Date;
  newId: () => string;
  log: Logger;
  /** Who makes a change: the authenticated caller (actor.ts). */
  actor: ActorOf;
  watch: WatchDeps;
}

/** Fields the list filter accepts for nodepools: the common ones plus cluster_id. */
export const NODEPOOL_FILTER: FilterSchema = { labelsColumn: "labels", fields: { ...COMMON_FILTER_FIELDS, cluster_id: { column: "cluster_id::text", type: "text" } }, derived: DERIVED_FILTERS };

/** NodePoolService: validates, then delegates to the store (which checks the owning cluster). */
export function createNodePoolService(deps: NodePoolServiceDeps) {
  return {
    async createNodePool(req, ctx) {
      const spec = checkCreate(req, "NodePool", req.clusterId === "" ? [{ field: "cluster_id", description: "is required", reason: "REQUIRED" }] : []);
      return deps.nodepools.create({ id: deps.newId(), clusterId: req.clusterId, name: req.name, labels: req.labels, spec, actor: deps.actor(ctx) }, deps.now());
    },

    async getNodePool(req) {
      return deps.nodepools.get(req.id, getView(req.view, checkGet(req)));
    },

    async listNodePools(req) {
      checkOptionalId(req.clusterId, "cluster_id");
      const view = checkListView(req.view);
      const q = checkList(req, NODEPOOL_FILTER);
      const page = await deps.nodepools.list({ ...q, showDeleted: req.showDeleted, clusterId: req.clusterId || undefined, view });
      return { nodepools: page.items, nextPageToken: encodePageToken(page.nextAfterId), totalSize: BigInt(page.total ?? 0) };
    },

    async updateNodePool(req, ctx) {
      return deps.nodepools.update(req.id, checkUpdate(req), deps.actor(ctx), deps.now());
    },

    async deleteNodePool(req, ctx) {
      requireId(req.id);
      return deps.nodepools.softDelete(req.id, deps.actor(ctx), deps.now());
    },

    async *watchNodePools(req, ctx) {
      try {
        checkOptionalId(req.clusterId, "cluster_id");
        const view = checkListView(req.view);
        const { where, token } = checkWatch(req, NODEPOOL_FILTER, "nodepools");
        const clusterId = req.clusterId || undefined;
        const q = { kind: "nodepools" as const, caller: deps.actor(ctx), where, showDeleted: req.showDeleted, view, token, sendInitial: req.sendInitial, clusterId };
        const stream = watchStream(
          {
            ...deps.watch,
            log: deps.log,
            list: (afterId) => deps.nodepools.list({ where, pageSize: watchPage(view), afterId, showDeleted: req.showDeleted, clusterId, view }),
            toPb: (row) => nodePoolToPb(row),
            removedPb: (r) => create(NodePoolSchema, { id: r.id, kind: "NodePool", clusterId: r.clusterId ?? "" }),
          },
          deps.watch.watchers,
          q,
          ctx.signal,
        );
        for await (const e of stream) yield { type: e.type, nodepool: e.resource, resumeToken: e.resumeToken };
      } catch (err) {
        // The error interceptor sees a stream's start only: what the stream throws later is translated (and logged) here.
        if (ctx.signal.aborted) return;
        if (!(err instanceof InvalidArgumentError)) deps.log.warn({ kind: "nodepools", err: err instanceof Error ? err.message : String(err) }, "watch stream ended with an error; its client resumes from its last token");
        throw toConnectError(err);
      }
    },

    async forceDeleteNodePool(req, ctx) {
      checkForceDelete(req);
      await deps.nodepools.forceDelete(req.id);
      deps.log.warn({ nodepoolId: req.id, reason: req.reason, actor: deps.actor(ctx) }, "nodepool force-deleted");
      return {};
    },
  } satisfies ServiceImpl<typeof NodePoolService>;
}
