import type { JsonObject } from "@bufbuild/protobuf";
import type { Cluster } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { aggregate } from "../core/aggregate.js";
import { FailedPreconditionError, NotFoundError } from "../core/domain-errors.js";
import type { SqlFragment } from "../core/filter.js";
import { translateDbError, type Knex } from "./db.js";
import { canonicalJson, clusterToPb, reportOfRow, statusColumns, statusOfRow, type AdapterStatusRow, type ClusterRow } from "./rows.js";

export interface NewCluster {
  id: string;
  name: string;
  labels: Record<string, string>;
  spec: JsonObject;
  actor: string;
}

/** What an update replaces; an absent field is left alone (spec §2). */
export interface ClusterChange {
  labels?: Record<string, string>;
  spec?: JsonObject;
}

export interface ListQuery {
  where: SqlFragment;
  pageSize: number;
  /** Keyset cursor: only ids after this one. */
  afterId?: string;
  showDeleted: boolean;
}

export interface ClusterPage {
  clusters: Cluster[];
  /** The last id of this page when more rows follow. */
  nextAfterId?: string;
  total: number;
}

/** Clusters in Postgres. Status columns are rewritten in the same transaction as any change that moves them. */
export interface ClusterStore {
  create(c: NewCluster, now: Date): Promise<Cluster>;
  get(id: string): Promise<Cluster>;
  list(q: ListQuery): Promise<ClusterPage>;
  update(id: string, change: ClusterChange, actor: string, now: Date): Promise<Cluster>;
  softDelete(id: string, actor: string, now: Date): Promise<Cluster>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Creates the cluster store; `required` are the adapters whose reports decide the phase. */
export function createClusterStore(db: Knex, required: readonly string[]): ClusterStore {
  const nameTaken = (name: string) => `a cluster named ${JSON.stringify(name)} already exists`;

  async function lockLive(trx: Knex.Transaction, id: string): Promise<ClusterRow> {
    const row = UUID.test(id) ? await trx<ClusterRow>("clusters").where({ id }).forUpdate().first() : undefined;
    if (!row) throw new NotFoundError("cluster", id);
    return row;
  }

  async function recompute(trx: Knex.Transaction, row: ClusterRow, at: Date): Promise<ClusterRow> {
    const statuses = await trx<AdapterStatusRow>("adapter_statuses").where({ resource_id: row.id });
    const status = aggregate({
      generation: row.generation,
      deleting: row.deleted_time !== null,
      updatedTime: row.updated_time,
      previous: statusOfRow(row),
      statuses: statuses.map(reportOfRow),
      required,
      at,
    });
    const [updated] = await trx<ClusterRow>("clusters").where({ id: row.id }).update(statusColumns(status)).returning("*");
    return updated;
  }

  return {
    async create(c, now) {
      const status = aggregate({ generation: 1, deleting: false, updatedTime: now, previous: undefined, statuses: [], required, at: now });
      try {
        const [row] = await db<ClusterRow>("clusters")
          .insert({
            id: c.id,
            name: c.name,
            labels: JSON.stringify(c.labels) as never,
            spec: JSON.stringify(c.spec) as never,
            generation: 1,
            ...statusColumns(status),
            created_time: now,
            updated_time: now,
            created_by: c.actor,
            updated_by: c.actor,
          } as never)
          .returning("*");
        return clusterToPb(row);
      } catch (err) {
        translateDbError(err, nameTaken(c.name));
      }
    },

    async get(id) {
      try {
        const row = UUID.test(id) ? await db<ClusterRow>("clusters").where({ id }).first() : undefined;
        if (!row) throw new NotFoundError("cluster", id);
        return clusterToPb(row);
      } catch (err) {
        if (err instanceof NotFoundError) throw err;
        translateDbError(err);
      }
    },

    async list(q) {
      try {
        const base = db<ClusterRow>("clusters").whereRaw(q.where.sql, q.where.bindings as never[]);
        if (!q.showDeleted) base.whereNull("deleted_time");
        const page = base.clone().orderBy("id").limit(q.pageSize + 1);
        if (q.afterId) page.where("id", ">", q.afterId);
        const [rows, [{ count }]] = await Promise.all([page, base.clone().count<{ count: number }[]>({ count: "*" })]);
        const more = rows.length > q.pageSize;
        const shown = more ? rows.slice(0, q.pageSize) : rows;
        return {
          clusters: shown.map(clusterToPb),
          nextAfterId: more ? shown[shown.length - 1].id : undefined,
          total: Number(count),
        };
      } catch (err) {
        translateDbError(err);
      }
    },

    async update(id, change, actor, now) {
      try {
        return await db.transaction(async (trx) => {
          const row = await lockLive(trx, id);
          if (row.deleted_time) throw new FailedPreconditionError(`cluster ${id} is being deleted and cannot be changed`);
          const labelsChanged = change.labels !== undefined && canonicalJson(change.labels) !== canonicalJson(row.labels);
          const specChanged = change.spec !== undefined && canonicalJson(change.spec) !== canonicalJson(row.spec);
          if (!labelsChanged && !specChanged) return clusterToPb(row);
          const [bumped] = await trx<ClusterRow>("clusters")
            .where({ id })
            .update({
              ...(labelsChanged ? { labels: JSON.stringify(change.labels) as never } : {}),
              ...(specChanged ? { spec: JSON.stringify(change.spec) as never } : {}),
              generation: row.generation + 1,
              updated_time: now,
              updated_by: actor,
            })
            .returning("*");
          return clusterToPb(await recompute(trx, bumped, now));
        });
      } catch (err) {
        if (err instanceof NotFoundError || err instanceof FailedPreconditionError) throw err;
        translateDbError(err, "a cluster with that name already exists");
      }
    },

    async softDelete(id, actor, now) {
      try {
        return await db.transaction(async (trx) => {
          const row = await lockLive(trx, id);
          if (row.deleted_time) return clusterToPb(row);
          const [deleted] = await trx<ClusterRow>("clusters")
            .where({ id })
            .update({ deleted_time: now, deleted_by: actor, generation: row.generation + 1, updated_time: now, updated_by: actor })
            .returning("*");
          return clusterToPb(await recompute(trx, deleted, now));
        });
      } catch (err) {
        if (err instanceof NotFoundError) throw err;
        translateDbError(err);
      }
    },
  };
}
