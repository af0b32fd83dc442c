import { decodeWatchToken, type WatchKind, type WatchToken } from "./core/watch-token.js";
import type { JsonObject } from "@bufbuild/protobuf";
import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { ResourceView } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { isUuid } from "../shared/ids.js";
import { clip, InvalidArgumentError, type Violation } from "./core/domain-errors.js";
import { compileFilter, FilterError, type FilterSchema, type SqlFragment } from "./core/filter.js";
import { validateJson, validateLabels, validateName } from "./core/validate.js";
import { DEFAULT_PAGE_SIZE, MAX_FORCE_DELETE_REASON_LENGTH, MAX_PAGE_SIZE, MAX_PAGE_TOKEN_LENGTH, MAX_UPDATE_MASK_PATHS } from "./limits.js";
import type { ResourceChange } from "./store/resource-store.js";

/**
 * Request checks shared by ClusterService and NodePoolService: same rules, same field names. They
 * run before any database access, and every input they see is bounded (limits.ts).
 */

/** Fields the list filter accepts for every kind, and their columns. */
export const COMMON_FILTER_FIELDS: FilterSchema["fields"] = {
  id: { column: "id::text", type: "text" },
  name: { column: "name", type: "text" },
  generation: { column: "generation", type: "int" },
  created_time: { column: "created_time", type: "time" },
  updated_time: { column: "updated_time", type: "time" },
  "status.phase": { column: "phase", type: "phase" },
  "status.observed_generation": { column: "observed_generation", type: "int" },
  "status.last_updated_time": { column: "last_updated_time", type: "time" },
  "status.last_transition_time": { column: "last_transition_time", type: "time" },
};

/** Comparisons with a stored column of their own (migration 0003). */
export const DERIVED_FILTERS: FilterSchema["derived"] = { "generation > status.observed_generation": "reconcile_pending" };

/** Create: name (per-kind length), labels, and a spec object (spec §2). */
export function checkCreate(req: { name: string; labels: Record<string, string>; spec?: JsonObject }, kind: "Cluster" | "NodePool", extra: Violation[] = []): JsonObject {
  const violations = [...extra, ...validateName(req.name, kind), ...validateLabels(req.labels), ...validateJson(req.spec, "spec")];
  if (req.spec === undefined) violations.push({ field: "spec", description: "is required (a JSON object, may be empty)", reason: "REQUIRED" });
  if (violations.length > 0) throw new InvalidArgumentError(violations);
  return req.spec!;
}

/** Get: an id, and a known view; true for the FULL view (adapter statuses included). */
export function checkGet(req: { id: string; view: ResourceView }): boolean {
  requireId(req.id);
  if (!Object.hasOwn(ResourceView, req.view)) {
    throw new InvalidArgumentError([{ field: "view", description: `unknown view ${req.view}: use RESOURCE_VIEW_BASIC or RESOURCE_VIEW_FULL`, reason: "INVALID_VALUE" }]);
  }
  return req.view === ResourceView.FULL;
}

export function requireId(id: string, field = "id"): void {
  if (id === "") throw new InvalidArgumentError([{ field, description: "is required", reason: "REQUIRED" }]);
}

/** An optional id that narrows a list: empty, or a UUID (anything else would reach Postgres as a bad uuid). */
export function checkOptionalId(id: string, field: string): void {
  if (id !== "" && !isUuid(id)) throw new InvalidArgumentError([{ field, description: "must be a cluster id (a UUID)", reason: "FORMAT" }]);
}

/** List: page size, opaque keyset token, filter compiled to SQL; every problem at once. */
export function checkList(req: { pageSize: number; pageToken: string; filter: string }, schema: FilterSchema): { where: SqlFragment; pageSize: number; afterId?: string } {
  const violations: Violation[] = [];
  if (req.pageSize < 0) violations.push({ field: "page_size", description: "must not be negative", reason: "RANGE" });
  const afterId = req.pageToken.length > MAX_PAGE_TOKEN_LENGTH ? null : decodePageToken(req.pageToken);
  if (afterId === null) violations.push({ field: "page_token", description: "is not a token this API issued", reason: "INVALID" });
  const where = filterOf(req.filter, schema, violations);
  if (violations.length > 0) throw new InvalidArgumentError(violations);
  return { where, pageSize: Math.min(req.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE), afterId: afterId ?? undefined };
}

/** The filter compiled, or its violation added to `violations` (and a filter that matches everything returned). */
function filterOf(filter: string, schema: FilterSchema, violations: Violation[]): SqlFragment {
  try {
    return compileFilter(filter, schema);
  } catch (err) {
    if (!(err instanceof FilterError)) throw err;
    violations.push({ field: "filter", description: err.message, reason: "INVALID_FILTER" });
    return { sql: "true", bindings: [] };
  }
}

/** A watch: the list's filter, and a resume token this API issued for this kind, decoded. */
export function checkWatch(req: { filter: string; resumeToken: string }, schema: FilterSchema, kind: WatchKind): { where: SqlFragment; token?: WatchToken } {
  const violations: Violation[] = [];
  const where = filterOf(req.filter, schema, violations);
  let token: WatchToken | undefined;
  if (req.resumeToken !== "") {
    try {
      token = decodeWatchToken(req.resumeToken, kind);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      violations.push(...err.violations);
    }
  }
  if (violations.length > 0) throw new InvalidArgumentError(violations);
  return { where, token };
}

/**
 * Update: with an update_mask exactly its paths (labels, spec); without one, spec when sent and
 * labels when non-empty (docs/decisions.md).
 */
export function checkUpdate(req: { id: string; labels: Record<string, string>; spec?: JsonObject; updateMask?: FieldMask }): ResourceChange {
  requireId(req.id);
  const paths = req.updateMask?.paths;
  if (paths && paths.length > MAX_UPDATE_MASK_PATHS) {
    throw new InvalidArgumentError([{ field: "update_mask.paths", description: `must have at most ${MAX_UPDATE_MASK_PATHS} entries (got ${paths.length})`, reason: "TOO_MANY" }]);
  }
  const violations: Violation[] = [];
  for (const [i, p] of (paths ?? []).entries()) {
    if (p !== "labels" && p !== "spec") violations.push({ field: `update_mask.paths[${i}]`, description: `cannot update ${JSON.stringify(clip(p, 64))}; only labels and spec`, reason: "IMMUTABLE" });
  }
  const setLabels = paths ? paths.includes("labels") : Object.keys(req.labels).length > 0;
  const setSpec = paths ? paths.includes("spec") : req.spec !== undefined;
  if (setLabels) violations.push(...validateLabels(req.labels));
  if (setSpec) violations.push(...validateJson(req.spec, "spec"));
  if (setSpec && req.spec === undefined) violations.push({ field: "spec", description: "is named in update_mask but not sent", reason: "REQUIRED" });
  if (!setLabels && !setSpec && violations.length === 0) {
    violations.push({ field: "update_mask", description: "nothing to update: send labels and/or spec", reason: "EMPTY" });
  }
  if (violations.length > 0) throw new InvalidArgumentError(violations);
  return { labels: setLabels ? req.labels : undefined, spec: setSpec ? req.spec : undefined };
}

/** Force delete needs a reason: it is logged for whoever asks later why a resource vanished (so it is bounded). */
export function checkForceDelete(req: { id: string; reason: string }): void {
  requireId(req.id);
  if (req.reason.length > MAX_FORCE_DELETE_REASON_LENGTH) {
    throw new InvalidArgumentError([{ field: "reason", description: `must be at most ${MAX_FORCE_DELETE_REASON_LENGTH} characters (got ${req.reason.length})`, reason: "TOO_LONG" }]);
  }
  if (req.reason.trim() === "") throw new InvalidArgumentError([{ field: "reason", description: "is required: say why the deletion is forced", reason: "REQUIRED" }]);
}

/** Page tokens are opaque to clients: base64url of the last id seen. */
export function encodePageToken(afterId: string | undefined): string {
  return afterId ? Buffer.from(afterId, "utf8").toString("base64url") : "";
}

/** undefined for no token, null for a malformed one. */
function decodePageToken(token: string): string | undefined | null {
  if (token === "") return undefined;
  const id = Buffer.from(token, "base64url").toString("utf8");
  // Only tokens this API issued: Postgres writes UUIDs in lower case.
  return isUuid(id) && id === id.toLowerCase() ? id : null;
}
