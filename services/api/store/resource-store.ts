import type { JsonObject } from "@bufbuild/protobuf";
import { isUuid } from "../../shared/ids.js";
import { FailedPreconditionError, NotFoundError, UnavailableError } from "../core/domain-errors.js";
import { aggregate } from "../core/aggregate.js";
import type { SqlFragment } from "../core/filter.js";
import { createLoader } from "./batcher.js";
import { queryPrepared, translateDbError, type Knex } from "./db.js";
import { lockRow, recompute, remove, type KindDef } from "./lifecycle.js";
import { binaryExcessBound, canonicalJson, resourceRowFromJson, STATUS_ROWS_JSON, STATUS_VIEW_COLUMNS, statusColumns, statusRowFromJson, type AdapterStatusRow, type ClusterRow, type RowView, type ViewRow } from "./rows.js";

export interface NewResource {
  id: string;
  name: string;
  labels: Record<string, string>;
  spec: JsonObject;
  actor: string;
  /** NodePools: the owning cluster. */
  clusterId?: string;
}

/** What an update replaces; an absent field is left alone (spec §2). */
export interface ResourceChange {
  labels?: Record<string, string>;
  spec?: JsonObject;
}

export interface ListQuery {
  where: SqlFragment;
  pageSize: number;
  /** Keyset cursor: only ids after this one. */
  afterId?: string;
  showDeleted: boolean;
  /** NodePools: only this cluster's. */
  clusterId?: string;
  /** The columns read (BASIC when absent). */
  view?: RowView;
}

export interface Page<M> {
  items: M[];
  /** The last id of this page when more rows follow. */
  nextAfterId?: string;
  /** Matches across all pages: counted on the first page (no afterId) only, undefined on later ones. */
  total?: number;
}

/** What a get reads: the STATUS or BASIC columns, or BASIC with every adapter's status row (FULL). */
export type ReadView = RowView | "full";

/** A resource kind in Postgres. Status columns move in the same transaction as any change that moves them. */
export interface ResourceStore<M> {
  create(r: NewResource, now: Date): Promise<M>;
  /**
   * In the FULL view, every adapter's status row in the same query. Gets of one id made together may
   * answer the same message object: callers serialize it, never change it.
   */
  get(id: string, view?: ReadView): Promise<M>;
  /**
   * One keyset page: at most pageSize rows and pageBytes of them (always at least one row), each
   * statement bounded by listTimeoutMs (ResourceStoreOptions); the total only on the first page.
   */
  list(q: ListQuery): Promise<Page<M>>;
  update(id: string, change: ResourceChange, actor: string, now: Date): Promise<M>;
  /** Spec §8: deleted_time, generation +1 once, children soft-deleted too; a second call changes nothing. */
  softDelete(id: string, actor: string, now: Date): Promise<M>;
  /** Removes a soft-deleted resource with its children and statuses; refused for a live one. */
  forceDelete(id: string): Promise<{ childrenRemoved: number }>;
}

export interface Kinds {
  cluster: KindDef;
  nodepool: KindDef;
}

const MATERIALIZE_BELOW = 10_000;
/**
 * A list page stops once its rows reach this many bytes (always holding at least one): half the 4 MiB
 * that gRPC and Connect clients accept by default, so that no page of large specs is refused by its
 * reader, and the API holds at most this much of them per list at once.
 */
export const PAGE_BYTES = 2 * 1024 * 1024;
/**
 * Each statement of a list is cancelled after this long (the database's statement timeout of 10 s
 * stays for everything else). A list is the request whose cost its caller chooses (the filter), so it
 * is bounded more tightly than any other.
 */
export const LIST_TIMEOUT_MS = 3_000;
/**
 * A row's bytes in a page beyond its jsonb columns: the id, name, times and *_by strings (each
 * bounded by the input limits), encoded.
 */
const ROW_OVERHEAD_BYTES = 1024;
/** Batched reads running at once per kind and view (each holds a pooled connection for one statement). */
const READS_IN_FLIGHT = 4;

const noun = (def: KindDef) => (def.kind === "Cluster" ? "cluster" : "nodepool");

export interface ResourceStoreOptions {
  /** Below this many matches a list page is collected and sorted rather than found by walking the primary key. */
  materializeBelow?: number;
  /** Batched get queries running at once (default 4). */
  readsInFlight?: number;
  /** A list page stops once its rows reach this many bytes (default PAGE_BYTES). */
  pageBytes?: number;
  /** A list's statements are cancelled after this long (default LIST_TIMEOUT_MS). */
  listTimeoutMs?: number;
}

/** Columns a page reads in front of the row: its size as a running total, position, and the candidates. */
interface PageMeta {
  hf_upto: number;
  hf_n: number;
  hf_candidates: number;
}

/** Creates the store of one kind; `toPb` renders a row as its wire message. */
export function createResourceStore<M>(
  db: Knex,
  def: KindDef,
  kinds: Kinds,
  toPb: (row: ViewRow, statuses?: AdapterStatusRow[]) => M,
  opts: ResourceStoreOptions = {},
): ResourceStore<M> {
  const materializeBelow = opts.materializeBelow ?? MATERIALIZE_BELOW;
  const pageBytes = opts.pageBytes ?? PAGE_BYTES;
  const listTimeoutMs = Math.max(1, Math.floor(opts.listTimeoutMs ?? LIST_TIMEOUT_MS));
  const statusColumnList = [...STATUS_VIEW_COLUMNS, ...(def.kind === "NodePool" ? ["cluster_id"] : [])];
  const run = async <T>(fn: () => Promise<T>, uniqueMessage?: string): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      // Domain errors pass through translateDbError unchanged; driver errors become domain errors.
      translateDbError(err, uniqueMessage);
    }
  };
  /** The row as one json value in a get, per view (STATUS: its bounded columns only). */
  const GET_ROW: Record<ReadView, string> = {
    basic: "to_json(r) as row",
    full: `to_json(r) as row, ${STATUS_ROWS_JSON} as statuses`,
    status: `json_build_object(${statusColumnList.map((c) => `'${c}', r.${c}`).join(", ")}) as row`,
  };
  /**
   * Reads by id, batched: gets that arrive while earlier ones are being read share the next query
   * (`id = any($1)`), so a busy API makes one round trip for many gets and an idle one answers each
   * at once. Prepared (adapters read a resource on every event), and as one json column: a prepared
   * `select *` fails once a migration adds a column ("cached plan must not change result type").
   */
  const loader = (view: ReadView) =>
    createLoader<string, M | Error>({
      maxBatch: 64,
      maxInFlight: opts.readsInFlight ?? READS_IN_FLIGHT,
      expired: () => new UnavailableError("database busy: the read waited too long, retry later"),
      load: async (ids) => {
        const { rows } = await queryPrepared(
          db,
          `get-many-${view === "basic" ? "" : `${view}-`}${def.table}`,
          `select ${GET_ROW[view]} from ${def.table} r where r.id = any($1::uuid[])`,
          [`{${ids.join(",")}}`], // validated UUIDs
        );
        const out = new Map<string, M | Error>();
        for (const found of rows as { row: Record<string, unknown>; statuses?: Record<string, unknown>[] }[]) {
          const id = (found.row as { id: string }).id;
          // A row that cannot be rendered fails its own gets, not the batch's others.
          try {
            const row = resourceRowFromJson(found.row);
            out.set(id, view === "full" ? toPb(row, (found.statuses ?? []).map(statusRowFromJson)) : toPb(row));
          } catch (err) {
            out.set(id, err instanceof Error ? err : new Error(String(err)));
          }
        }
        return out;
      },
    });
  const loaders: Record<ReadView, ReturnType<typeof loader>> = { basic: loader("basic"), full: loader("full"), status: loader("status") };
  /**
   * A row's bytes in a page, estimated by Postgres before anything is sent: its jsonb columns as JSON
   * text (the Connect JSON size; binary protobuf of a spec of strings is about the same), plus the
   * scalars. The STATUS view has only bounded scalars.
   */
  const rowBytes = (view: RowView) =>
    view === "status" ? `${ROW_OVERHEAD_BYTES}` : `octet_length(t.spec::text) + octet_length(t.labels::text) + octet_length(t.status_conditions::text) + ${ROW_OVERHEAD_BYTES}`;
  /**
   * The rows of the page whose ids the CTE `page_ids` holds (`withIds` defines it: at most pageSize + 1,
   * in id order), up to pageBytes: the running total is computed over the ids before any row is sent,
   * so the rows past the budget, and their specs, never leave Postgres. The first row always comes
   * back, however large, so that a listing always moves on.
   */
  const readPage = (view: RowView, withIds: () => Knex.QueryBuilder, extra = "") => {
    const columns = view === "status" ? statusColumnList.map((c) => `t.${c}`).join(", ") : "t.*";
    const sized = db
      .select(db.raw(`${columns}, sum(${rowBytes(view)}) over (order by t.id) as hf_upto, row_number() over (order by t.id) as hf_n, count(*) over () as hf_candidates${extra}`))
      .from(`${def.table} as t`)
      .join("page_ids", "page_ids.id", "t.id");
    return bounded(
      withIds()
        .select("*")
        .from(sized.as("sized"))
        .where((w) => w.where("hf_n", 1).orWhere("hf_upto", "<=", pageBytes))
        .orderBy("id"),
    ) as unknown as Promise<(ViewRow & PageMeta)[]>;
  };
  /**
   * A list statement, cancelled in Postgres (pg_cancel_backend, from a connection of its own) after
   * listTimeoutMs. Not SET LOCAL statement_timeout: the transaction it needs cost every list three
   * more round trips, about 0.9 ms against 0.4 ms for a small list, while this costs nothing until it fires.
   */
  const bounded = <Q extends Knex.QueryBuilder>(q: Q): Q => q.timeout(listTimeoutMs, { cancel: true }) as Q;
  /** A list statement that hit listTimeoutMs, as knex reports it (a pool wait that timed out has no `sql`). */
  const listTimedOut = (err: unknown) => err instanceof Error && err.name === "KnexTimeoutError" && "sql" in err;
  /** Clusters are always locked before their nodepools, so two transactions never wait on each other in a cycle. */
  const lockWithParent = async (trx: Knex.Transaction, id: string): Promise<ClusterRow> => {
    if (def.kind === "NodePool") {
      const peek = await trx<ClusterRow>("nodepools").where({ id }).first("cluster_id").catch(() => undefined);
      if (peek?.cluster_id) await lockRow(trx, "clusters", peek.cluster_id);
    }
    const row = await lockRow(trx, def.table, id);
    if (!row) throw new NotFoundError(noun(def), id);
    return row;
  };

  /**
   * The first rows whose binary protobuf also fits pageBytes (always the first). Postgres budgets the
   * JSON text, and binary can be up to 6 times that (a spec of numbers): a page of specs like that
   * would pass a gRPC client's 4 MiB. Looked at only when the page is large enough for it to matter.
   */
  const withinBinaryBudget = (rows: (ViewRow & PageMeta)[], view: RowView) => {
    if (view === "status" || rows.length < 2 || rows[rows.length - 1].hf_upto * 6 <= pageBytes) return rows;
    let excess = 0;
    for (let i = 0; i < rows.length; i++) {
      excess += binaryExcessBound(rows[i].spec ?? {}) + binaryExcessBound(rows[i].labels ?? {});
      if (i > 0 && rows[i].hf_upto + excess > pageBytes) return rows.slice(0, i);
    }
    return rows;
  };
  /** One page of a list (ResourceStore.list), every statement bounded by listTimeoutMs. */
  const listPage = async (q: ListQuery): Promise<Page<M>> => {
    const view = q.view ?? "basic";
    /** The page from its rows: pageSize + 1 of them means more follow, and so do candidates the byte budget left out. */
    const pageOf = (read: (ViewRow & PageMeta)[], total: number | undefined): Page<M> => {
      const rows = withinBinaryBudget(read, view);
      const shown = rows.length > q.pageSize ? rows.slice(0, q.pageSize) : rows;
      const more = rows.length > q.pageSize || rows.length < (rows[0]?.hf_candidates ?? 0);
      return { items: shown.map((row) => toPb(row)), nextAfterId: more ? shown[shown.length - 1].id : undefined, total };
    };
    const base = db<ClusterRow>(def.table).whereRaw(q.where.sql, q.where.bindings as never[]);
    if (!q.showDeleted) base.whereNull("deleted_time");
    if (q.clusterId) base.where({ cluster_id: q.clusterId });
    // Later pages are not counted again: a count walks every match, so counting each page made a
    // listing cost pages × matches, and twelve broad filters paging at once slowed every read. Their
    // page is found as the planner chooses; either way it reads only from afterId to the page's end,
    // so a whole listing reads the matches about once.
    if (q.afterId) {
      const ids = base.clone().select("id").where("id", ">", q.afterId).orderBy("id").limit(q.pageSize + 1);
      return pageOf(await readPage(view, () => db.with("page_ids", ids)), undefined);
    }
    // A filtered list usually matches few rows (a label, the Sentinel's due filter, one cluster's
    // nodepools): one statement then finds them once in the filter's index, counts them and returns
    // the first page, instead of a count and a page that each scan the index. When the matches exceed
    // materializeBelow it falls through to the two-step plans below, one wasted statement per listing.
    if (q.where.sql !== "true" || q.clusterId) {
      const matching = base.clone().select("id").limit(materializeBelow + 1);
      const pageIds = db.select("id").from("matching").orderBy("id").limit(q.pageSize + 1);
      const rows = (await readPage(view, () => db.withMaterialized("matching", matching).with("page_ids", pageIds), ", (select count(*) from matching)::int as hf_total")) as (ViewRow &
        PageMeta & { hf_total: number })[];
      if (rows.length > 0 && rows[0].hf_total <= materializeBelow) return pageOf(rows, rows[0].hf_total);
      // A first page with no rows: nothing matches (a Sentinel poll with nothing due).
      if (rows.length === 0) return { items: [], total: 0 };
    }
    const [{ count }] = await bounded(base.clone().count<{ count: number }[]>({ count: "*" }));
    const total = Number(count);
    if (total === 0) return { items: [], total };
    // Few matches: collect them and sort (a label filter's GIN bitmap scan). Many: walk the primary
    // key and stop at the page's end. The planner chooses between the two from an estimate that
    // prices a jsonb containment test like an integer comparison, and walked the key through 10,000
    // rows (12 ms) for a 1 % label filter; the exact count, which the first page needs anyway,
    // decides better (6 ms).
    const pageIds =
      total <= materializeBelow
        ? () => db.withMaterialized("matches", base.clone().select("id")).with("page_ids", db.select("id").from("matches").orderBy("id").limit(q.pageSize + 1))
        : () => db.with("page_ids", base.clone().select("id").orderBy("id").limit(q.pageSize + 1));
    return pageOf(await readPage(view, pageIds), total);
  };

  return {
    create: (r, now) =>
      run(async () => {
        const status = aggregate({ generation: 1, deleting: false, updatedTime: now, previous: undefined, statuses: [], required: def.required, at: now });
        return db.transaction(async (trx) => {
          if (def.kind === "NodePool") {
            const parent = await lockRow(trx, "clusters", r.clusterId ?? "");
            if (!parent) throw new NotFoundError("cluster", r.clusterId ?? "");
            if (parent.deleted_time) throw new FailedPreconditionError(`cluster ${parent.id} is being deleted: no new nodepools`);
          }
          const [row] = await trx<ClusterRow>(def.table)
            .insert({
              id: r.id,
              ...(def.kind === "NodePool" ? { cluster_id: r.clusterId } : {}),
              name: r.name,
              labels: JSON.stringify(r.labels) as never,
              spec: JSON.stringify(r.spec) as never,
              generation: 1,
              ...statusColumns(status),
              created_time: now,
              updated_time: now,
              created_by: r.actor,
              updated_by: r.actor,
            } as never)
            .returning("*");
          return toPb(row);
        });
      }, `a ${noun(def)} named ${JSON.stringify(r.name)} already exists${def.kind === "NodePool" ? " in this cluster" : ""}`),

    get: (id, view = "basic") =>
      run(async () => {
        if (!isUuid(id)) throw new NotFoundError(noun(def), id);
        // Keyed as Postgres prints a uuid (lowercase), whatever case the caller used.
        const found = await loaders[view].load(id.toLowerCase());
        if (found instanceof Error) throw found;
        if (!found) throw new NotFoundError(noun(def), id);
        return found;
      }),

    list: (q) =>
      run(async () => {
        try {
          return await listPage(q);
        } catch (err) {
          if (!listTimedOut(err)) throw err;
          throw new UnavailableError(`the list took longer than ${listTimeoutMs} ms and was stopped: narrow the filter or ask for a smaller page`, { cause: err });
        }
      }),

    update: (id, change, actor, now) =>
      run(() =>
        db.transaction(async (trx) => {
          const row = await lockWithParent(trx, id);
          if (row.deleted_time) throw new FailedPreconditionError(`${noun(def)} ${id} is being deleted and cannot be changed`);
          const labelsChanged = change.labels !== undefined && canonicalJson(change.labels) !== canonicalJson(row.labels);
          const specChanged = change.spec !== undefined && canonicalJson(change.spec) !== canonicalJson(row.spec);
          if (!labelsChanged && !specChanged) return toPb(row);
          const [bumped] = await trx<ClusterRow>(def.table)
            .where({ id })
            .update({
              ...(labelsChanged ? { labels: JSON.stringify(change.labels) as never } : {}),
              ...(specChanged ? { spec: JSON.stringify(change.spec) as never } : {}),
              generation: row.generation + 1,
              updated_time: now,
              updated_by: actor,
            })
            .returning("*");
          return toPb((await recompute(trx, def, bumped, now, kinds)).row);
        }),
      ),

    softDelete: (id, actor, now) =>
      run(() =>
        db.transaction(async (trx) => {
          const row = await lockWithParent(trx, id);
          if (row.deleted_time) return toPb(row);
          const mark = { deleted_time: now, deleted_by: actor, updated_time: now, updated_by: actor };
          const [deleted] = await trx<ClusterRow>(def.table).where({ id }).update({ ...mark, generation: row.generation + 1 }).returning("*");
          if (def.kind === "Cluster") {
            const children = await trx<ClusterRow>("nodepools").where({ cluster_id: id }).whereNull("deleted_time").forUpdate();
            for (const child of children) {
              const [c] = await trx<ClusterRow>("nodepools").where({ id: child.id }).update({ ...mark, generation: child.generation + 1 }).returning("*");
              await recompute(trx, kinds.nodepool, c, now, kinds);
            }
          }
          return toPb((await recompute(trx, def, deleted, now, kinds)).row);
        }),
      ),

    forceDelete: (id) =>
      run(() =>
        db.transaction(async (trx) => {
          const row = await lockWithParent(trx, id);
          if (!row.deleted_time) throw new FailedPreconditionError(`${noun(def)} ${id} is not being deleted: delete it first; force delete only removes a stuck deletion`);
          const childrenRemoved = await remove(trx, def, id);
          if (def.kind === "NodePool" && row.cluster_id) {
            const parent = await trx<ClusterRow>("clusters").where({ id: row.cluster_id }).first();
            if (parent?.deleted_time) await recompute(trx, kinds.cluster, parent, new Date(), kinds);
          }
          return { childrenRemoved };
        }),
      ),
  };
}
