import { isUuid } from "../../shared/ids.js";
import { aggregate, type ResourceStatus } from "../core/aggregate.js";
import type { Knex } from "./db.js";
import { reportOfRow, statusColumns, statusOfRow, type AdapterStatusRow, type ClusterRow, type ReportBasisRow } from "./rows.js";

/** A resource kind as the stores see it. */
export interface KindDef {
  kind: "Cluster" | "NodePool";
  table: "clusters" | "nodepools";
  /** Adapters whose reports decide the phase (spec §4). */
  required: readonly string[];
}

export type Removal = { removed: false; row: ClusterRow } | { removed: true; row: ClusterRow; parentRemoved: boolean };

/** Locks one row for the rest of the transaction; undefined when absent (or not a UUID). */
export async function lockRow(trx: Knex.Transaction, table: KindDef["table"], id: string): Promise<ClusterRow | undefined> {
  if (!isUuid(id)) return undefined;
  return trx<ClusterRow>(table).where({ id }).forUpdate().first();
}

/** The resource's status (spec §4) from its row and all its status rows, as of `at`. Pure. */
export function statusFrom(def: KindDef, row: ReportBasisRow, statuses: readonly AdapterStatusRow[], at: Date): ResourceStatus {
  return aggregate({
    generation: row.generation,
    deleting: row.deleted_time !== null,
    updatedTime: row.updated_time,
    previous: statusOfRow(row),
    statuses: statuses.map(reportOfRow),
    required: def.required,
    at,
  });
}

/**
 * Recomputes a resource's status (spec §4) inside the caller's transaction and, when it is being
 * deleted and every required adapter has reported Finalized=True at the current generation with no
 * child left, removes it and its statuses (spec §8). A removed nodepool may complete its cluster's
 * removal: the caller must already hold the cluster's lock (clusters are always locked before nodepools).
 */
export async function recompute(trx: Knex.Transaction, def: KindDef, row: ClusterRow, at: Date, kinds: { cluster: KindDef }, known?: AdapterStatusRow[]): Promise<Removal> {
  // A caller that already holds every status row of the resource (under the resource's lock) saves a round trip.
  const statuses = known ?? (await trx<AdapterStatusRow>("adapter_statuses").where({ resource_id: row.id }));
  const status = statusFrom(def, row, statuses, at);
  const [updated] = await trx<ClusterRow>(def.table).where({ id: row.id }).update(statusColumns(status)).returning("*");
  if (!(await removable(trx, def, updated))) return { removed: false, row: updated };
  await remove(trx, def, updated.id);
  let parentRemoved = false;
  if (def.kind === "NodePool" && updated.cluster_id) {
    const parent = await trx<ClusterRow>("clusters").where({ id: updated.cluster_id }).first();
    if (parent && (await removable(trx, kinds.cluster, parent))) {
      await remove(trx, kinds.cluster, parent.id);
      parentRemoved = true;
    }
  }
  return { removed: true, row: updated, parentRemoved };
}

async function removable(trx: Knex.Transaction, def: KindDef, row: ClusterRow): Promise<boolean> {
  if (!row.deleted_time || row.phase !== "Ready") return false;
  if (def.kind !== "Cluster") return true;
  const child = await trx("nodepools").where({ cluster_id: row.id }).first("id");
  return !child;
}

/** Deletes a resource, its statuses and (for a cluster) its nodepools and theirs. Returns nodepools removed. */
export async function remove(trx: Knex.Transaction, def: KindDef, id: string): Promise<number> {
  let children = 0;
  if (def.kind === "Cluster") {
    const ids = (await trx("nodepools").where({ cluster_id: id }).select("id")).map((r: { id: string }) => r.id);
    if (ids.length) await trx("adapter_statuses").whereIn("resource_id", ids).delete();
    children = await trx("nodepools").where({ cluster_id: id }).delete();
  }
  await trx("adapter_statuses").where({ resource_id: id }).delete();
  await trx(def.table).where({ id }).delete();
  return children;
}
