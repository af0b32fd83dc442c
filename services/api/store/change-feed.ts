/**
 * Reads the change feed (migration 0005): the rows and removals of one kind that a snapshot does not
 * see, in (transaction id, id) order, a bounded page at a time. Which resource matches the watcher's
 * filter is decided by Postgres in the same statement, so a resource that stops matching can be told.
 */
import type { SqlFragment } from "../core/filter.js";
import type { WatchKind } from "../core/watch-token.js";
import { translateDbError, type Knex } from "./db.js";
import { UnavailableError } from "../core/domain-errors.js";
import { LIST_TIMEOUT_MS } from "./resource-store.js";
import { STATUS_VIEW_COLUMNS, type RowView, type ViewRow } from "./rows.js";

/** Where a page of changes continues: after this (transaction id, resource id). */
export interface ChangeCursor {
  xid: string;
  id: string;
}

export interface ChangeQuery {
  kind: WatchKind;
  /** The snapshot the watcher has seen everything of. */
  since: string;
  after?: ChangeCursor;
  where: SqlFragment;
  showDeleted: boolean;
  clusterId?: string;
  view: RowView;
  limit: number;
}

/** A changed row; `matches` false when it no longer belongs in the watch (filter, or soft-deleted). */
export interface ChangedRow {
  row: ViewRow;
  matches: boolean;
  cursor: ChangeCursor;
}

export interface Removed {
  id: string;
  clusterId?: string;
  cursor: ChangeCursor;
}

export interface ChangeFeed {
  /** The database's current snapshot, as text, and its clock. */
  snapshot(): Promise<{ snapshot: string; nowMs: number }>;
  changed(q: ChangeQuery): Promise<ChangedRow[]>;
  removed(q: Pick<ChangeQuery, "kind" | "since" | "after" | "clusterId" | "limit">): Promise<Removed[]>;
  /** Drops removals older than `retentionMs` by the database's clock; returns how many. */
  prune(retentionMs: number): Promise<number>;
}

export function createChangeFeed(db: Knex, opts: { timeoutMs?: number } = {}): ChangeFeed {
  const timeoutMs = opts.timeoutMs ?? LIST_TIMEOUT_MS;
  /** Each statement cancelled after timeoutMs; a database that cannot answer is Unavailable, as for a list. */
  const bounded = async <T>(q: Knex.Raw<T>): Promise<T> => {
    try {
      return (await q.timeout(timeoutMs, { cancel: true })) as T;
    } catch (err) {
      if (err instanceof Error && err.name === "KnexTimeoutError") throw new UnavailableError("the change feed did not answer in time: retry (the stream resumes from its last token)", { cause: err });
      translateDbError(err);
    }
  };
  const columns = (kind: WatchKind, view: RowView) =>
    view === "status" ? [...STATUS_VIEW_COLUMNS, ...(kind === "nodepools" ? ["cluster_id"] : [])].map((c) => `t.${c}`).join(", ") : "t.*";
  /** Not seen by snapshot `?` (bound twice), after the cursor when there is one. */
  const unseen = (column: string, since: string, after: ChangeCursor | undefined, idColumn: string) => ({
    sql: `${column} >= pg_snapshot_xmin(?::pg_snapshot) and not pg_visible_in_snapshot(${column}, ?::pg_snapshot)${after ? ` and (${column}, ${idColumn}) > (?::xid8, ?::uuid)` : ""}`,
    bindings: [since, since, ...(after ? [after.xid, after.id] : [])],
  });
  return {
    async snapshot() {
      const { rows } = await bounded(db.raw<{ rows: { s: string; ms: string }[] }>("select pg_current_snapshot()::text as s, (extract(epoch from clock_timestamp()) * 1000)::bigint as ms"));
      return { snapshot: rows[0].s, nowMs: Number(rows[0].ms) };
    },
    async changed(q) {
      const u = unseen("t.change_xid", q.since, q.after, "t.id");
      const match = `(${q.where.sql})${q.showDeleted ? "" : " and t.deleted_time is null"}`;
      const { rows } = await bounded(
        db.raw<{ rows: (ViewRow & { hf_xid: string; hf_match: boolean | null })[] }>(
          `select ${columns(q.kind, q.view)}, t.change_xid::text as hf_xid, coalesce(${match}, false) as hf_match from ${q.kind} t
           where ${u.sql}${q.clusterId ? " and t.cluster_id = ?::uuid" : ""}
           order by t.change_xid, t.id limit ?`,
          [...q.where.bindings, ...u.bindings, ...(q.clusterId ? [q.clusterId] : []), q.limit] as never[],
        ),
      );
      return rows.map(({ hf_xid, hf_match, ...row }) => ({ row: row as ViewRow, matches: hf_match === true, cursor: { xid: hf_xid, id: row.id } }));
    },
    async removed(q) {
      const u = unseen("removed_xid", q.since, q.after, "id");
      const { rows } = await bounded(
        db.raw<{ rows: { id: string; cluster_id: string | null; xid: string }[] }>(
          `select id, cluster_id, removed_xid::text as xid from watch_tombstones
           where kind = ? and ${u.sql}${q.clusterId ? " and cluster_id = ?::uuid" : ""}
           order by removed_xid, id limit ?`,
          [q.kind, ...u.bindings, ...(q.clusterId ? [q.clusterId] : []), q.limit] as never[],
        ),
      );
      return rows.map((r) => ({ id: r.id, ...(r.cluster_id ? { clusterId: r.cluster_id } : {}), cursor: { xid: r.xid, id: r.id } }));
    },
    async prune(retentionMs) {
      const { rowCount } = await db.raw<{ rowCount: number }>("delete from watch_tombstones where removed_time < clock_timestamp() - ? * interval '1 millisecond'", [retentionMs]);
      return rowCount ?? 0;
    },
  };
}
