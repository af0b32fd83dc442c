import type { JsonObject } from "@bufbuild/protobuf";
import type { AdapterStatus } from "../../../gen/hyperfleet/v1/status_pb.js";
import type { ResourceStatus as PbResourceStatus } from "../../../gen/hyperfleet/v1/resource_status_pb.js";
import { stampTransitions, type IncomingCondition } from "../core/condition.js";
import { isUuid } from "../../shared/ids.js";
import { NotFoundError } from "../core/domain-errors.js";
import { decideReport, isStored, type ReportOutcome } from "../core/report.js";
import { translateDbError, type Knex } from "./db.js";
import { lockRow, recompute } from "./lifecycle.js";
import { kindsOf, type RequiredAdapters } from "./cluster-store.js";
import { adapterStatusToPb, fromStoredConditions, resourceStatusToPb, statusOfRow, toStoredConditions, type AdapterStatusRow, type ClusterRow } from "./rows.js";

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

/** Creates the status store; reports for clusters and nodepools alike (ids are unique across kinds). */
export function createStatusStore(db: Knex, required: RequiredAdapters): StatusStore {
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
  return {
    async report(r) {
      try {
        return await db.transaction(async (trx) => {
          // The row lock serialises reports for one resource: none is lost and none moves a row backwards.
          const found = await lockResource(trx, r.resourceId);
          if (!found) throw new NotFoundError("resource", r.resourceId);
          const resource = found.row;
          // Every row of the resource in one read: this adapter's decides the report, all of them the status.
          const rows = await trx<AdapterStatusRow>("adapter_statuses").where({ resource_id: r.resourceId });
          const stored = rows.find((x) => x.adapter === r.adapter);
          const outcome = decideReport(
            stored && { observedGeneration: stored.observed_generation, lastReportTime: stored.last_report_time },
            r,
            resource.generation,
          );
          if (!isStored(outcome)) {
            return { outcome, status: stored && adapterStatusToPb(stored), resourceStatus: resourceStatusToPb(statusOfRow(resource)) };
          }
          const conditions = toStoredConditions(stampTransitions(stored && fromStoredConditions(stored.conditions), r.conditions, r.observedTime));
          const [row] = await trx<AdapterStatusRow>("adapter_statuses")
            .insert({
              resource_id: r.resourceId,
              adapter: r.adapter,
              resource_kind: found.def.kind,
              observed_generation: r.observedGeneration,
              observed_time: r.observedTime,
              conditions: JSON.stringify(conditions) as never,
              data: (r.data ? JSON.stringify(r.data) : null) as never,
              created_time: r.observedTime,
              last_report_time: r.observedTime,
            })
            .onConflict(["resource_id", "adapter"])
            .merge(["observed_generation", "observed_time", "conditions", "data", "last_report_time"])
            .returning("*");
          // Spec §8: the report that finalizes a deleting resource removes it, in this transaction.
          const after = await recompute(trx, found.def, resource, r.observedTime, kinds, [...rows.filter((x) => x.adapter !== r.adapter), row]);
          return { outcome, status: adapterStatusToPb(row), resourceStatus: resourceStatusToPb(statusOfRow(after.row)), removed: after.removed };
        });
      } catch (err) {
        translateDbError(err);
      }
    },

    async list(resourceId) {
      try {
        const exists =
          isUuid(resourceId) && ((await db("clusters").where({ id: resourceId }).first("id")) || (await db("nodepools").where({ id: resourceId }).first("id")));
        if (!exists) throw new NotFoundError("resource", resourceId);
        const rows = await db<AdapterStatusRow>("adapter_statuses").where({ resource_id: resourceId }).orderBy("adapter");
        return rows.map(adapterStatusToPb);
      } catch (err) {
        translateDbError(err);
      }
    },
  };
}
