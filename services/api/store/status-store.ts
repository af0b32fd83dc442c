import type { JsonObject } from "@bufbuild/protobuf";
import type { AdapterStatus } from "../../../gen/hyperfleet/v1/status_pb.js";
import type { ResourceStatus as PbResourceStatus } from "../../../gen/hyperfleet/v1/resource_status_pb.js";
import { stampTransitions, type IncomingCondition } from "../core/condition.js";
import { isUuid } from "../../shared/ids.js";
import { NotFoundError } from "../core/domain-errors.js";
import { decideReport, isStored, type ReportOutcome } from "../core/report.js";
import { translateDbError, type Knex } from "./db.js";
import { lockRow, recompute, statusFrom } from "./lifecycle.js";
import { kindsOf, type RequiredAdapters } from "./cluster-store.js";
import { adapterStatusToPb, fromStoredConditions, resourceRowFromJson, resourceStatusToPb, STATUS_ROWS_JSON, statusColumns, statusOfRow, statusRowFromJson, toStoredConditions, type AdapterStatusRow, type ClusterRow } from "./rows.js";

/** A validated report (spec §3 rule 1 already passed). */
export interface Report {
  resourceId: string;
  adapter: string;
  observedGeneration: number;
  observedTime: Date;
  conditions: IncomingCondition[];
  data: JsonObject | undefined;
}

export interface ReportResult {
  outcome: ReportOutcome;
  /** The adapter's row after the call; undefined when discarded with no row yet. */
  status: AdapterStatus | undefined;
  resourceStatus: PbResourceStatus;
  /** True when this report finalized the resource's deletion and it is gone. */
  removed?: boolean;
}

/** Adapter status rows; a report and the resource status it moves are written in one transaction. */
export interface StatusStore {
  report(r: Report): Promise<ReportResult>;
  list(resourceId: string): Promise<AdapterStatus[]>;
}

/** Test seams. */
export interface StatusStoreHooks {
  /** Runs between the optimistic path's read and its write (tests put a concurrent writer here). */
  afterSnapshot?: (resourceId: string) => Promise<void>;
}

/** Creates the status store; reports for clusters and nodepools alike (ids are unique across kinds). */
export function createStatusStore(db: Knex, required: RequiredAdapters, hooks: StatusStoreHooks = {}): StatusStore {
  const kinds = kindsOf(required);
  /** The resource, locked (a nodepool's cluster first, the one lock order every writer uses). */
  const lockResource = async (trx: Knex.Transaction, id: string) => {
    if (!isUuid(id)) return undefined;
    const cluster = await lockRow(trx, "clusters", id);
    if (cluster) return { def: kinds.cluster, row: cluster };
    const peek = await trx<ClusterRow>("nodepools").where({ id }).first("cluster_id");
    if (!peek?.cluster_id) return undefined;
    await lockRow(trx, "clusters", peek.cluster_id);
    const nodepool = await lockRow(trx, "nodepools", id);
    return nodepool ? { def: kinds.nodepool, row: nodepool } : undefined;
  };
  /**
   * The common case in two statements and no explicit transaction: read the resource (with its row
   * version, xmin) and all its status rows, decide in TypeScript, then write the adapter's row and the
   * resource's status in one statement that applies only if the resource row is still that version.
   * Every status write rewrites the resource row, so a concurrent report, update or delete makes the
   * write a no-op and the caller falls back to the locking path. Undefined: take the locking path
   * (a deleting resource, whose report may remove it, or a lost race).
   */
  const reportOptimistically = async (r: Report): Promise<ReportResult | undefined> => {
    const { rows: found } = await db.raw(SNAPSHOT_SQL, [r.resourceId, r.resourceId]);
    const snap = found[0] as { kind: "Cluster" | "NodePool"; version: string; row: Record<string, unknown>; statuses: Record<string, unknown>[] } | undefined;
    if (!snap) throw new NotFoundError("resource", r.resourceId);
    const resource = resourceRowFromJson(snap.row);
    if (resource.deleted_time) return undefined;
    const def = snap.kind === "Cluster" ? kinds.cluster : kinds.nodepool;
    const j = judge(r, resource, snap.statuses.map(statusRowFromJson));
    if (j.discarded) return j.discarded;
    const row = newStatusRow(r, def.kind, j.stored);
    const status = statusFrom(def, resource, [...j.others, row], r.observedTime);
    const cols = statusColumns(status);
    await hooks.afterSnapshot?.(r.resourceId);
    const { rows: written } = await db.raw(writeSql(def.table), [
      cols.phase, cols.observed_generation, cols.last_transition_time, cols.last_updated_time, cols.status_conditions as unknown as string, r.resourceId, snap.version,
      row.adapter, row.resource_kind, row.observed_generation, row.observed_time, JSON.stringify(row.conditions), row.data ? JSON.stringify(row.data) : null, row.created_time, row.last_report_time,
    ]);
    if (written[0]?.written !== 1) return undefined;
    return { outcome: j.outcome, status: adapterStatusToPb(row), resourceStatus: resourceStatusToPb(status) };
  };

  /** Under the resource's row lock: the path for deleting resources and for reports that lost a race. */
  const reportLocked = (r: Report): Promise<ReportResult> =>
    db.transaction(async (trx) => {
      // The row lock serialises reports for one resource: none is lost and none moves a row backwards.
      const found = await lockResource(trx, r.resourceId);
      if (!found) throw new NotFoundError("resource", r.resourceId);
      const resource = found.row;
      // Every row of the resource in one read: this adapter's decides the report, all of them the status.
      const j = judge(r, resource, await trx<AdapterStatusRow>("adapter_statuses").where({ resource_id: r.resourceId }));
      if (j.discarded) return j.discarded;
      const next = newStatusRow(r, found.def.kind, j.stored);
      const [row] = await trx<AdapterStatusRow>("adapter_statuses")
        .insert({ ...next, conditions: JSON.stringify(next.conditions) as never, data: (next.data ? JSON.stringify(next.data) : null) as never })
        .onConflict(["resource_id", "adapter"])
        .merge(["observed_generation", "observed_time", "conditions", "data", "last_report_time"])
        .returning("*");
      // Spec §8: the report that finalizes a deleting resource removes it, in this transaction.
      const after = await recompute(trx, found.def, resource, r.observedTime, kinds, [...j.others, row]);
      return { outcome: j.outcome, status: adapterStatusToPb(row), resourceStatus: resourceStatusToPb(statusOfRow(after.row)), removed: after.removed };
    });

  return {
    async report(r) {
      try {
        if (!isUuid(r.resourceId)) throw new NotFoundError("resource", r.resourceId);
        return (await reportOptimistically(r)) ?? (await reportLocked(r));
      } catch (err) {
        translateDbError(err);
      }
    },

    async list(resourceId) {
      try {
        if (!isUuid(resourceId)) throw new NotFoundError("resource", resourceId);
        // Adapters list a resource's statuses on every event: one query when it has any rows, and
        // the existence check only for an empty answer (no rows yet, or no such resource).
        const rows = await db<AdapterStatusRow>("adapter_statuses").where({ resource_id: resourceId }).orderBy("adapter");
        if (rows.length === 0) {
          const exists = (await db("clusters").where({ id: resourceId }).first("id")) || (await db("nodepools").where({ id: resourceId }).first("id"));
          if (!exists) throw new NotFoundError("resource", resourceId);
        }
        return rows.map(adapterStatusToPb);
      } catch (err) {
        translateDbError(err);
      }
    },
  };
}

/**
 * Report `r` against the resource's status rows (spec §3 rule 3): the adapter's stored row, the
 * others, the outcome, and the whole answer when the report is discarded.
 */
function judge(r: Report, resource: ClusterRow, rows: AdapterStatusRow[]) {
  const stored = rows.find((x) => x.adapter === r.adapter);
  const outcome = decideReport(stored && { observedGeneration: stored.observed_generation, lastReportTime: stored.last_report_time }, r, resource.generation);
  const discarded: ReportResult | undefined = isStored(outcome) ? undefined : { outcome, status: stored && adapterStatusToPb(stored), resourceStatus: resourceStatusToPb(statusOfRow(resource)) };
  return { stored, others: rows.filter((x) => x.adapter !== r.adapter), outcome, discarded };
}

/** The adapter's row after storing report `r` (its conditions' transition times carried forward). */
function newStatusRow(r: Report, kind: string, stored: AdapterStatusRow | undefined): AdapterStatusRow {
  return {
    resource_id: r.resourceId,
    adapter: r.adapter,
    resource_kind: kind,
    observed_generation: r.observedGeneration,
    observed_time: r.observedTime,
    conditions: toStoredConditions(stampTransitions(stored && fromStoredConditions(stored.conditions), r.conditions, r.observedTime)),
    data: r.data ?? null,
    created_time: stored?.created_time ?? r.observedTime,
    last_report_time: r.observedTime,
  };
}

/** The resource (either kind: ids are unique across them), its row version and all its status rows, in one round trip. */
export const SNAPSHOT_SQL = ["clusters", "nodepools"]
  .map(
    (table) => `select '${table === "clusters" ? "Cluster" : "NodePool"}' as kind, r.xmin::text as version, to_json(r) as row,
      ${STATUS_ROWS_JSON} as statuses
    from ${table} r where r.id = ?`,
  )
  .join(" union all ");

/** Writes the status row and the resource's status together, only if the resource row is still the version read. */
export const writeSql = (table: string) => `
  with resource as (
    update ${table} set phase = ?, observed_generation = ?, last_transition_time = ?, last_updated_time = ?, status_conditions = ?::jsonb
    where id = ? and xmin = ?::xid
    returning id
  ), status as (
    insert into adapter_statuses (resource_id, adapter, resource_kind, observed_generation, observed_time, conditions, data, created_time, last_report_time)
    select id, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ? from resource
    on conflict (resource_id, adapter) do update set observed_generation = excluded.observed_generation, observed_time = excluded.observed_time,
      conditions = excluded.conditions, data = excluded.data, last_report_time = excluded.last_report_time
    returning 1
  )
  select count(*)::int as written from status`;
