import type { JsonObject } from "@bufbuild/protobuf";
import type { AdapterStatus } from "../../../gen/hyperfleet/v1/status_pb.js";
import type { ResourceStatus as PbResourceStatus } from "../../../gen/hyperfleet/v1/resource_status_pb.js";
import { stampTransitions, type IncomingCondition } from "../core/condition.js";
import { isUuid } from "../../shared/ids.js";
import { clip, InvalidArgumentError, NotFoundError, ResourceExhaustedError, UnavailableError } from "../core/domain-errors.js";
import { decideReport, isStored, type ReportOutcome } from "../core/report.js";
import type { ResourceStatus } from "../core/aggregate.js";
import { createBatcher, createLimiter, type QueueRefusal, type Settled } from "./batcher.js";
import { isoTime } from "./iso-time.js";
import { classifyDbError, queryPrepared, translateDbError, type Knex } from "./db.js";
import { lockRow, recompute, statusFrom } from "./lifecycle.js";
import { kindsOf, type RequiredAdapters } from "./cluster-store.js";
import { adapterStatusToPb, fromStoredConditions, resourceStatusToPb, STATUS_ROWS_JSON, statusOfRow, statusRowFromJson, toStoredConditions, type AdapterStatusRow, type ClusterRow, type ReportBasisRow } from "./rows.js";

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
  /** When the resource's deletion was requested, as of this report (undefined: not being deleted). */
  resourceDeletedTime?: Date;
}

/** Adapter status rows; a report and the resource status it moves are written in one transaction. */
export interface StatusStore {
  /**
   * Applies spec §3 rules 2-4. Fails Unavailable when the report cannot be queued (too many waiting,
   * for this resource or in all) or waits too long, or when `signal` (the call's deadline) aborts
   * while it waits.
   */
  report(r: Report, signal?: AbortSignal): Promise<ReportResult>;
  list(resourceId: string): Promise<AdapterStatus[]>;
}

/** Tuning and test seams. */
export interface StatusStoreOptions {
  /** Adapters whose reports are stored and shown without deciding any phase (CLUSTER_/NODEPOOL_OPTIONAL_ADAPTERS); any other name not required is refused. */
  optional?: Partial<RequiredAdapters>;
  /** Runs between a batch's read and its write, once per report to write (tests put a concurrent writer here). */
  afterSnapshot?: (resourceId: string) => Promise<void>;
  /** Called with the size of each batch of reports as it starts (the API's batch-size histogram). */
  onBatch?: (size: number) => void;
  /** Called when a batch's write fails (its reports are then redone one by one). */
  onWriteError?: (err: unknown, size: number) => void;
  /** Most reports written by one statement (default 64). */
  maxBatch?: number;
  /** Most reports redone under the row lock at once (default 4; each holds a pooled connection). */
  maxRedos?: number;
  /** Most report batches in flight at once (default 2; each holds a pooled connection per statement). */
  maxInFlight?: number;
  /** Most reports waiting to be written, in all (default 2,000): beyond it a report is refused at once. */
  maxQueued?: number;
  /**
   * Most reports waiting for one resource (default 128): beyond it a report for that resource is
   * refused at once. A resource's reports are written one at a time, so this is also how long its
   * newest report can wait, in round trips; and one resource's flood cannot fill the queue.
   */
  maxQueuedPerResource?: number;
  /** Longest a report waits to be written, or to be redone under the lock (default 4 s), before it fails. */
  maxWaitMs?: number;
}

/** The error a report refused or dropped by the queue fails with: retryable, and saying why. */
function refusal(why: QueueRefusal, maxWaitMs: number): Error {
  // ResourceExhausted: the adapters retry it like Unavailable (api-client.ts isRetryable).
  if (why === "key-full") return new ResourceExhaustedError("too many status reports waiting for this resource, retry later");
  if (why === "queue-full") return new ResourceExhaustedError("too many status reports waiting, retry later");
  return new UnavailableError(`status report not written within ${maxWaitMs} ms (the database is slow or unreachable), retry later`);
}

/** Creates the status store; reports for clusters and nodepools alike (ids are unique across kinds). */
export function createStatusStore(db: Knex, required: RequiredAdapters, opts: StatusStoreOptions = {}): StatusStore {
  const kinds = kindsOf(required);
  const optionalFor = (def: { kind: string }) => (def.kind === "Cluster" ? opts.optional?.clusters : opts.optional?.nodepools) ?? [];
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
   * The common case: reports arriving together share two statements and no explicit transaction.
   * One read of every resource (with its row version, xmin) and all its status rows; the decisions
   * in TypeScript; then one statement that writes each adapter row and resource status, each only
   * if its resource row is still the version read. Every status write rewrites the resource row, so
   * a concurrent report, update or delete turns that resource's write into a no-op and its report
   * takes the locking path; so do reports for deleting resources (their report may remove them).
   * The batcher never puts two reports for one resource in flight at once.
   */
  const reportBatch = async (reports: Report[]): Promise<(Settled<ReportResult> | Promise<Settled<ReportResult>>)[]> => {
    opts.onBatch?.(reports.length);
    const ids = `{${reports.map((r) => r.resourceId).join(",")}}`; // validated UUIDs
    const { rows: found } = await queryPrepared(db, "report-snapshot", SNAPSHOT_SQL, [ids]);
    const snaps = new Map((found as unknown as Snapshot[]).map((x) => [x.id, x]));
    const results: (Settled<ReportResult> | undefined)[] = new Array(reports.length);
    const writes: { i: number; row: AdapterStatusRow; status: ResourceStatus; outcome: ReportOutcome; input: WriteInput }[] = [];
    reports.forEach((r, i) => {
      const snap = snaps.get(r.resourceId);
      if (!snap) return (results[i] = { ok: false, error: new NotFoundError("resource", r.resourceId) });
      if (snap.deleted_time) return; // the locking path
      const def = snap.kind === "Cluster" ? kinds.cluster : kinds.nodepool;
      const stranger = notConfigured(def, r.adapter, optionalFor(def));
      if (stranger) return (results[i] = { ok: false, error: stranger });
      const j = judge(r, snap, snap.statuses.map(statusRowFromJson));
      if (j.discarded) return (results[i] = { ok: true, value: j.discarded });
      const row = newStatusRow(r, def.kind, j.stored);
      const status = statusFrom(def, snap, [...j.others, row], r.observedTime);
      writes.push({ i, row, status, outcome: j.outcome, input: writeInput(snap, row, status) });
    });
    for (const w of writes) await opts.afterSnapshot?.(reports[w.i].resourceId);
    if (writes.length > 0) {
      let written = new Set<string>();
      try {
        const { rows } = await queryPrepared(db, "report-write", WRITE_SQL, [JSON.stringify(writes.map((w) => w.input))]);
        written = new Set((rows as { id: string }[]).map((x) => x.id));
      } catch (err) {
        const fault = classifyDbError(err);
        if (fault === "unreachable" || fault === "no-answer" || fault === "busy") {
          // The database is not answering: redone one by one, each report would wait for it again.
          const unavailable = caught(() => translateDbError(err));
          for (const w of writes) results[w.i] = { ok: false, error: unavailable };
        } else {
          // One bad row fails the statement for all: each report is then redone alone under the lock,
          // where only its own error reaches its caller.
          opts.onWriteError?.(err, writes.length);
        }
      }
      for (const w of writes) {
        // Not being deleted: the snapshot said so, and the write was conditional on that row version.
        if (written.has(w.row.resource_id)) results[w.i] = { ok: true, value: { outcome: w.outcome, status: adapterStatusToPb(w.row), resourceStatus: resourceStatusToPb(w.status) } };
      }
    }
    // The rest are redone one by one under the lock, outside the batch's slot (each holds only its own
    // resource), at most a few at once so that redos waiting on locks cannot take every pooled connection.
    return reports.map((r, i) => results[i] ?? redos.run(() => settle(() => reportLocked(r))));
  };
  const maxWaitMs = opts.maxWaitMs ?? 4_000;
  const redos = createLimiter(opts.maxRedos ?? 4, { maxWaitMs, expired: () => refusal("expired", maxWaitMs) });
  const batcher = createBatcher<Report, ReportResult>({
    key: (r) => r.resourceId,
    run: reportBatch,
    maxBatch: opts.maxBatch ?? 64,
    maxInFlight: opts.maxInFlight ?? 2,
    maxQueued: opts.maxQueued ?? 2_000,
    maxQueuedPerKey: opts.maxQueuedPerResource ?? 128,
    maxWaitMs,
    refused: (why) => refusal(why, maxWaitMs),
  });

  /** Under the resource's row lock: the path for deleting resources and for reports that lost a race. */
  const reportLocked = (r: Report): Promise<ReportResult> =>
    db.transaction(async (trx) => {
      // The row lock serialises reports for one resource: none is lost and none moves a row backwards.
      const found = await lockResource(trx, r.resourceId);
      if (!found) throw new NotFoundError("resource", r.resourceId);
      const stranger = notConfigured(found.def, r.adapter, optionalFor(found.def));
      if (stranger) throw stranger;
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
      return { outcome: j.outcome, status: adapterStatusToPb(row), resourceStatus: resourceStatusToPb(statusOfRow(after.row)), removed: after.removed, resourceDeletedTime: resource.deleted_time ?? undefined };
    });

  return {
    async report(r, signal) {
      try {
        if (!isUuid(r.resourceId)) throw new NotFoundError("resource", r.resourceId);
        return await batcher.submit(r, signal);
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
function judge(r: Report, resource: ReportBasisRow, rows: AdapterStatusRow[]) {
  const stored = rows.find((x) => x.adapter === r.adapter);
  const outcome = decideReport(stored && { observedGeneration: stored.observed_generation, lastReportTime: stored.last_report_time }, r, resource.generation);
  const discarded: ReportResult | undefined = isStored(outcome) ? undefined : { outcome, status: stored && adapterStatusToPb(stored), resourceStatus: resourceStatusToPb(statusOfRow(resource)), resourceDeletedTime: resource.deleted_time ?? undefined };
  return { stored, others: rows.filter((x) => x.adapter !== r.adapter), outcome, discarded };
}

/** The adapter's row after storing report `r` (its conditions' transition times carried forward). */
/**
 * A report from an adapter this API does not run for the resource's kind is refused: its row would
 * count for nothing (the phase reads the required adapters only) yet could be mistaken for one that does.
 */
function notConfigured(def: { kind: string; required: readonly string[] }, adapter: string, optional: readonly string[]): InvalidArgumentError | undefined {
  if (def.required.includes(adapter) || optional.includes(adapter)) return undefined;
  const configured = [...def.required, ...optional].join(", ");
  return new InvalidArgumentError([{ field: "adapter", description: `${JSON.stringify(clip(adapter, 64))} is not an adapter of ${def.kind} resources here (configured: ${configured})`, reason: "NOT_CONFIGURED" }]);
}

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

/** One report's object in WRITE_SQL's $1 (its columns, in order). Times as text: JSON.stringify writes a Date through its toJSON at twice the cost. */
function writeInput(snap: Snapshot, row: AdapterStatusRow, status: ResourceStatus) {
  return {
    kind: snap.kind,
    resource_id: row.resource_id,
    version: snap.version,
    phase: status.phase,
    status_generation: status.observedGeneration,
    last_transition_time: isoTime(status.lastTransitionTime),
    last_updated_time: isoTime(status.lastUpdatedTime),
    status_conditions: toStoredConditions(status.conditions),
    available_adapters: status.availableAdapters ?? 0,
    adapter: row.adapter,
    resource_kind: row.resource_kind,
    observed_generation: row.observed_generation,
    observed_time: isoTime(row.observed_time),
    conditions: row.conditions,
    data: row.data,
    created_time: isoTime(row.created_time),
    last_report_time: isoTime(row.last_report_time),
  };
}
type WriteInput = ReturnType<typeof writeInput>;

/** A row of SNAPSHOT_SQL: a resource's row version, the columns a report reads and all its status rows. */
interface Snapshot extends ReportBasisRow {
  kind: "Cluster" | "NodePool";
  id: string;
  version: string;
  statuses: Record<string, unknown>[];
}

/** Runs `fn`, with database errors translated, as one item's outcome. */
async function settle<R>(fn: () => Promise<R>): Promise<Settled<R>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    try {
      translateDbError(err);
    } catch (e) {
      return { ok: false, error: e };
    }
  }
}

/**
 * Resources (either kind: ids are unique across them) by id, each with its row version, the columns
 * a report reads (not the spec or labels) and all its status rows, in one round trip. $1: the ids
 * as a Postgres uuid[] literal.
 */
export const SNAPSHOT_SQL = ["clusters", "nodepools"]
  .map(
    (table) => `select '${table === "clusters" ? "Cluster" : "NodePool"}' as kind, r.id::text as id, r.xmin::text as version,
      r.generation, r.deleted_time, r.updated_time, r.phase, r.observed_generation, r.last_transition_time, r.last_updated_time, r.status_conditions,
      ${STATUS_ROWS_JSON} as statuses
    from ${table} r where r.id = any($1::uuid[])`,
  )
  .join(" union all ");

/**
 * Writes reports' status rows and their resources' statuses, each only if its resource row is still
 * the version read, and answers the ids written. $1: a JSON array with one object per
 * report (the adapter row's columns, kind, version and the resource's status columns). It takes its
 * row locks first, in id order, skipping rows another transaction holds: it never waits, so it cannot
 * deadlock with anything, and a resource someone else is writing just takes the locking path.
 */
export const WRITE_SQL = `
  with input as (
    select * from jsonb_to_recordset($1::jsonb) as t(kind text, resource_id uuid, version xid, phase text, status_generation bigint,
      last_transition_time timestamptz, last_updated_time timestamptz, status_conditions jsonb, available_adapters integer, adapter text, resource_kind text,
      observed_generation bigint, observed_time timestamptz, conditions jsonb, data jsonb, created_time timestamptz, last_report_time timestamptz)
  ), clusters_locked as materialized (
    select r.id from clusters r join input i on i.kind = 'Cluster' and r.id = i.resource_id and r.xmin = i.version
    order by r.id for update of r skip locked
  ), nodepools_locked as materialized (
    select r.id from nodepools r join input i on i.kind = 'NodePool' and r.id = i.resource_id and r.xmin = i.version
    order by r.id for update of r skip locked
  ), clusters_written as (
    update clusters r set phase = i.phase, observed_generation = i.status_generation, last_transition_time = i.last_transition_time,
      last_updated_time = i.last_updated_time, status_conditions = i.status_conditions, available_adapters = i.available_adapters,
      change_xid = pg_current_xact_id()
    from input i, clusters_locked l where i.kind = 'Cluster' and r.id = i.resource_id and r.id = l.id and r.xmin = i.version
    returning r.id
  ), nodepools_written as (
    update nodepools r set phase = i.phase, observed_generation = i.status_generation, last_transition_time = i.last_transition_time,
      last_updated_time = i.last_updated_time, status_conditions = i.status_conditions, available_adapters = i.available_adapters,
      change_xid = pg_current_xact_id()
    from input i, nodepools_locked l where i.kind = 'NodePool' and r.id = i.resource_id and r.id = l.id and r.xmin = i.version
    returning r.id
  ), status as (
    insert into adapter_statuses (resource_id, adapter, resource_kind, observed_generation, observed_time, conditions, data, created_time, last_report_time)
    select i.resource_id, i.adapter, i.resource_kind, i.observed_generation, i.observed_time, i.conditions, i.data, i.created_time, i.last_report_time
    from input i where i.resource_id in (select id from clusters_written union all select id from nodepools_written)
    on conflict (resource_id, adapter) do update set observed_generation = excluded.observed_generation, observed_time = excluded.observed_time,
      conditions = excluded.conditions, data = excluded.data, last_report_time = excluded.last_report_time
    returning resource_id
  )
  select resource_id::text as id from status`;

/** What `fn` throws (it always throws). */
function caught(fn: () => never): unknown {
  try {
    return fn();
  } catch (e) {
    return e;
  }
}
