import type { ServiceImpl } from "@connectrpc/connect";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { actorOf } from "./actor.js";
import { InvalidArgumentError, type Violation } from "./core/domain-errors.js";
import { compileFilter, FilterError, type FilterSchema } from "./core/filter.js";
import { validateLabels, validateName } from "./core/validate.js";
import type { ClusterStore } from "./store/cluster-store.js";

export interface ClusterServiceDeps {
  clusters: ClusterStore;
  now: () => Date;
  newId: () => string;
}

/** Fields the list filter accepts for clusters, and their columns. */
export const CLUSTER_FILTER: FilterSchema = {
  labelsColumn: "labels",
  fields: {
    id: { column: "id::text", type: "text" },
    name: { column: "name", type: "text" },
    generation: { column: "generation", type: "int" },
    created_time: { column: "created_time", type: "time" },
    updated_time: { column: "updated_time", type: "time" },
    "status.phase": { column: "phase", type: "phase" },
    "status.observed_generation": { column: "observed_generation", type: "int" },
    "status.last_updated_time": { column: "last_updated_time", type: "time" },
    "status.last_transition_time": { column: "last_transition_time", type: "time" },
  },
};

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

/** ClusterService: validates, then delegates to the store. */
export function createClusterService(deps: ClusterServiceDeps) {
  return {
    async createCluster(req, ctx) {
      const violations = [...validateName(req.name, "Cluster"), ...validateLabels(req.labels)];
      if (req.spec === undefined) violations.push({ field: "spec", description: "is required (a JSON object, may be empty)", reason: "REQUIRED" });
      if (violations.length > 0) throw new InvalidArgumentError(violations);
      return deps.clusters.create(
        { id: deps.newId(), name: req.name, labels: req.labels, spec: req.spec!, actor: actorOf(ctx.requestHeader) },
        deps.now(),
      );
    },

    async getCluster(req) {
      requireId(req.id);
      return deps.clusters.get(req.id);
    },

    async listClusters(req) {
      const violations: Violation[] = [];
      if (req.pageSize < 0) violations.push({ field: "page_size", description: "must not be negative", reason: "RANGE" });
      const afterId = decodePageToken(req.pageToken);
      if (afterId === null) violations.push({ field: "page_token", description: "is not a token this API issued", reason: "INVALID" });
      let where = { sql: "true", bindings: [] as unknown[] };
      try {
        where = compileFilter(req.filter, CLUSTER_FILTER);
      } catch (err) {
        if (!(err instanceof FilterError)) throw err;
        violations.push({ field: "filter", description: err.message, reason: "INVALID_FILTER" });
      }
      if (violations.length > 0) throw new InvalidArgumentError(violations);
      const pageSize = Math.min(req.pageSize || DEFAULT_PAGE, MAX_PAGE);
      const page = await deps.clusters.list({ where, pageSize, afterId: afterId ?? undefined, showDeleted: req.showDeleted });
      return { clusters: page.clusters, nextPageToken: page.nextAfterId ? encodePageToken(page.nextAfterId) : "", totalSize: BigInt(page.total) };
    },

    async updateCluster(req, ctx) {
      requireId(req.id);
      const paths = req.updateMask?.paths;
      const violations: Violation[] = [];
      for (const [i, p] of (paths ?? []).entries()) {
        if (p !== "labels" && p !== "spec") violations.push({ field: `update_mask.paths[${i}]`, description: `cannot update ${JSON.stringify(p)}; only labels and spec`, reason: "IMMUTABLE" });
      }
      const setLabels = paths ? paths.includes("labels") : Object.keys(req.labels).length > 0;
      const setSpec = paths ? paths.includes("spec") : req.spec !== undefined;
      if (setLabels) violations.push(...validateLabels(req.labels));
      if (setSpec && req.spec === undefined) violations.push({ field: "spec", description: "is named in update_mask but not sent", reason: "REQUIRED" });
      if (!setLabels && !setSpec && violations.length === 0) {
        violations.push({ field: "update_mask", description: "nothing to update: send labels and/or spec", reason: "EMPTY" });
      }
      if (violations.length > 0) throw new InvalidArgumentError(violations);
      return deps.clusters.update(req.id, { labels: setLabels ? req.labels : undefined, spec: setSpec ? req.spec : undefined }, actorOf(ctx.requestHeader), deps.now());
    },

    async deleteCluster(req, ctx) {
      requireId(req.id);
      return deps.clusters.softDelete(req.id, actorOf(ctx.requestHeader), deps.now());
    },
  } satisfies ServiceImpl<typeof ClusterService>;
}

function requireId(id: string): void {
  if (id === "") throw new InvalidArgumentError([{ field: "id", description: "is required", reason: "REQUIRED" }]);
}

/** Page tokens are opaque to clients: base64url of the last id seen. */
function encodePageToken(afterId: string): string {
  return Buffer.from(afterId, "utf8").toString("base64url");
}

/** undefined for no token, null for a malformed one. */
function decodePageToken(token: string): string | undefined | null {
  if (token === "") return undefined;
  const id = Buffer.from(token, "base64url").toString("utf8");
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) ? id : null;
}
