import type { JsonObject } from "@bufbuild/protobuf";
import type { AdapterStatus } from "../../../gen/hyperfleet/v1/status_pb.js";
import type { ResourceStatus as PbResourceStatus } from "../../../gen/hyperfleet/v1/resource_status_pb.js";
import { aggregate } from "../core/aggregate.js";
import { stampTransitions, type IncomingCondition } from "../core/condition.js";
import { NotFoundError } from "../core/domain-errors.js";
import { decideReport, isStored, type ReportOutcome } from "../core/report.js";
import { translateDbError, type Knex } from "./db.js";
import {
  adapterStatusToPb,
  reportOfRow,
  resourceStatusToPb,
  statusColumns,
  statusOfRow,
  toStoredConditions,
  type AdapterStatusRow,
  type ClusterRow,
} from "./rows.js";

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
}

/** Adapter status rows; a report and the resource status it moves are written in one transaction. */
export interface StatusStore {
  report(r: Report): Promise<ReportResult>;
  list(resourceId: string): Promise<AdapterStatus[]>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Creates the status store; `required` are the adapters whose reports decide the phase. */
export function createStatusStore(db: Knex, required: readonly string[]): StatusStore {
  return {
    async report(r) {
      try {
        return await db.transaction(async (trx) => {
          // The row lock serialises reports for one resource: none is lost and none moves a row backwards.
          const resource = UUID.test(r.resourceId)
            ? await trx<ClusterRow>("clusters").where({ id: r.resourceId }).forUpdate().first()
            : undefined;
          if (!resource) throw new NotFoundError("resource", r.resourceId);
          const stored = await trx<AdapterStatusRow>("adapter_statuses").where({ resource_id: r.resourceId, adapter: r.adapter }).first();
          const outcome = decideReport(
            stored && { observedGeneration: stored.observed_generation, lastReportTime: stored.last_report_time },
            r,
            resource.generation,
          );
          if (!isStored(outcome)) {
            return { outcome, status: stored && adapterStatusToPb(stored), resourceStatus: resourceStatusToPb(statusOfRow(resource)) };
          }
          const previous = stored?.conditions.map((c) => ({ ...c, lastTransitionTime: new Date(c.lastTransitionTime) }));
          const conditions = toStoredConditions(stampTransitions(previous, r.conditions, r.observedTime));
          const [row] = await trx<AdapterStatusRow>("adapter_statuses")
            .insert({
              resource_id: r.resourceId,
              adapter: r.adapter,
              resource_kind: "Cluster",
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
          const all = await trx<AdapterStatusRow>("adapter_statuses").where({ resource_id: r.resourceId });
          const status = aggregate({
            generation: resource.generation,
            deleting: resource.deleted_time !== null,
            updatedTime: resource.updated_time,
            previous: statusOfRow(resource),
            statuses: all.map(reportOfRow),
            required,
            at: r.observedTime,
          });
          await trx("clusters").where({ id: r.resourceId }).update(statusColumns(status));
          return { outcome, status: adapterStatusToPb(row), resourceStatus: resourceStatusToPb(status) };
        });
      } catch (err) {
        if (err instanceof NotFoundError) throw err;
        translateDbError(err);
      }
    },

    async list(resourceId) {
      try {
        const exists = UUID.test(resourceId) && (await db("clusters").where({ id: resourceId }).first("id"));
        if (!exists) throw new NotFoundError("resource", resourceId);
        const rows = await db<AdapterStatusRow>("adapter_statuses").where({ resource_id: resourceId }).orderBy("adapter");
        return rows.map(adapterStatusToPb);
      } catch (err) {
        if (err instanceof NotFoundError) throw err;
        translateDbError(err);
      }
    },
  };
}
