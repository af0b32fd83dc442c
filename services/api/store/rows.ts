import type { JsonObject } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Cluster } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import type { NodePool } from "../../../gen/hyperfleet/v1/nodepool_pb.js";
import { ConditionStatus as PbConditionStatus, type Condition as PbCondition } from "../../../gen/hyperfleet/v1/condition_pb.js";
import { Phase as PbPhase, type ResourceStatus as PbResourceStatus } from "../../../gen/hyperfleet/v1/resource_status_pb.js";
import type { AdapterStatus } from "../../../gen/hyperfleet/v1/status_pb.js";
import type { Condition, ConditionStatus } from "../core/condition.js";
import type { AdapterReport, ResourceStatus } from "../core/aggregate.js";
import { isoTime, parseIsoTime } from "./iso-time.js";

/** A clusters or nodepools row as pg returns it (int8 parsed as number, timestamptz as Date). */
export interface ClusterRow {
  id: string;
  /** nodepools only: the owning cluster. */
  cluster_id?: string;
  name: string;
  labels: Record<string, string>;
  spec: JsonObject;
  generation: number;
  phase: "Ready" | "NotReady";
  observed_generation: number;
  last_transition_time: Date;
  last_updated_time: Date;
  status_conditions: StoredCondition[];
  created_time: Date;
  updated_time: Date;
  deleted_time: Date | null;
  created_by: string;
  updated_by: string;
  deleted_by: string | null;
  /** Required adapters Available at the current generation (migration 0005), written with the status. */
  available_adapters?: number;
}

/** An adapter_statuses row. */
export interface AdapterStatusRow {
  resource_id: string;
  adapter: string;
  resource_kind: string;
  observed_generation: number;
  observed_time: Date;
  conditions: StoredCondition[];
  data: JsonObject | null;
  created_time: Date;
  last_report_time: Date;
}

/** A condition as kept in jsonb (times as ISO strings). */
export interface StoredCondition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export function toStoredConditions(conditions: readonly Condition[]): StoredCondition[] {
  return conditions.map((c) => {
    const stored: StoredCondition = { type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime: isoTime(c.lastTransitionTime) };
    if (c.observedGeneration !== undefined) stored.observedGeneration = c.observedGeneration;
    return stored;
  });
}

export function fromStoredConditions(conditions: readonly StoredCondition[]): Condition[] {
  return conditions.map((c) => ({ ...c, lastTransitionTime: parseIsoTime(c.lastTransitionTime) }));
}

/**
 * What a resource is read as: every column (BASIC, FULL) or only those of bounded size (STATUS: no
 * labels, spec or status conditions), so that a large or deep spec is never read for a controller's poll.
 */
export type RowView = "basic" | "status";

/** The columns the STATUS view reads, besides nodepools' cluster_id: each a scalar of bounded size. */
export const STATUS_VIEW_COLUMNS = [
  "id",
  "name",
  "generation",
  "phase",
  "observed_generation",
  "last_transition_time",
  "last_updated_time",
  "created_time",
  "updated_time",
  "deleted_time",
  "created_by",
  "updated_by",
  "deleted_by",
  "available_adapters",
] as const satisfies readonly (keyof ClusterRow)[];

/** A row as read in either view: labels, spec and status conditions are absent in the STATUS view. */
export type ViewRow = Omit<ClusterRow, "labels" | "spec" | "status_conditions"> & Partial<Pick<ClusterRow, "labels" | "spec" | "status_conditions">>;

/** The columns of a resource row that hold its computed status. */
export type StatusColumnsRow = Pick<ClusterRow, "phase" | "observed_generation" | "last_transition_time" | "last_updated_time" | "status_conditions">;

/** The columns of a resource row a status report reads: its generation, deletion and computed status. */
export type ReportBasisRow = StatusColumnsRow & Pick<ClusterRow, "generation" | "deleted_time" | "updated_time">;

/** The computed status held in a clusters row (no conditions when they were not read: the STATUS view). */
export function statusOfRow(row: Omit<StatusColumnsRow, "status_conditions"> & Partial<Pick<StatusColumnsRow, "status_conditions">>): ResourceStatus {
  return {
    phase: row.phase,
    observedGeneration: row.observed_generation,
    lastTransitionTime: row.last_transition_time,
    lastUpdatedTime: row.last_updated_time,
    // Absent in the STATUS view.
    conditions: fromStoredConditions(row.status_conditions ?? []),
    availableAdapters: (row as { available_adapters?: number }).available_adapters,
  };
}

/** Columns that store a computed status. */
export function statusColumns(s: ResourceStatus) {
  return {
    phase: s.phase,
    observed_generation: s.observedGeneration,
    last_transition_time: s.lastTransitionTime,
    last_updated_time: s.lastUpdatedTime,
    // knex sends strings to jsonb as is; an array would be sent as a Postgres array literal.
    status_conditions: JSON.stringify(toStoredConditions(s.conditions)) as unknown as StoredCondition[],
    available_adapters: s.availableAdapters ?? 0,
  };
}

export function reportOfRow(row: AdapterStatusRow): AdapterReport {
  return {
    adapter: row.adapter,
    observedGeneration: row.observed_generation,
    conditions: row.conditions,
    lastReportTime: row.last_report_time,
  };
}

const STATUS_TO_PB: Record<ConditionStatus, PbConditionStatus> = {
  True: PbConditionStatus.TRUE,
  False: PbConditionStatus.FALSE,
  Unknown: PbConditionStatus.UNKNOWN,
};

/** Maps the wire enum to the stored word; undefined for UNSPECIFIED or unknown numbers. */
export function conditionStatusFromPb(s: PbConditionStatus): ConditionStatus | undefined {
  return (Object.keys(STATUS_TO_PB) as ConditionStatus[]).find((k) => STATUS_TO_PB[k] === s);
}

/*
 * The messages below are built as plain objects with every field set, which is what protobuf-es's
 * create() returns: create() walks its init object by reflection (field lookups, message checks,
 * a Timestamp create() each), which was ~12 % of the API's CPU on list pages. rows.test.ts checks
 * every builder against create(), so a field added to the proto cannot be forgotten here.
 */

/** timestampFromDate without create(). */
function timestamp(date: Date): Timestamp {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { $typeName: "google.protobuf.Timestamp", seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

function conditionToPb(c: StoredCondition | Condition): PbCondition {
  const ltt = typeof c.lastTransitionTime === "string" ? parseIsoTime(c.lastTransitionTime) : c.lastTransitionTime;
  return {
    $typeName: "hyperfleet.v1.Condition",
    type: c.type,
    status: STATUS_TO_PB[c.status],
    reason: c.reason,
    message: c.message,
    lastTransitionTime: timestamp(ltt),
    observedGeneration: BigInt(c.observedGeneration ?? 0),
  };
}

export function resourceStatusToPb(s: ResourceStatus): PbResourceStatus {
  return {
    $typeName: "hyperfleet.v1.ResourceStatus",
    phase: s.phase === "Ready" ? PbPhase.READY : PbPhase.NOT_READY,
    observedGeneration: BigInt(s.observedGeneration),
    lastTransitionTime: timestamp(s.lastTransitionTime),
    lastUpdatedTime: timestamp(s.lastUpdatedTime),
    conditions: s.conditions.map(conditionToPb),
    availableAdapters: s.availableAdapters ?? 0,
  };
}

/** The fields every resource message shares, from its row (in the STATUS view: no labels, spec or conditions). */
function commonFields(row: ViewRow) {
  return {
    id: row.id,
    name: row.name,
    labels: row.labels ?? {},
    spec: row.spec ?? undefined,
    generation: BigInt(row.generation),
    status: resourceStatusToPb(statusOfRow(row)),
    createdTime: timestamp(row.created_time),
    updatedTime: timestamp(row.updated_time),
    deletedTime: row.deleted_time ? timestamp(row.deleted_time) : undefined,
    createdBy: row.created_by,
    updatedBy: row.updated_by,
    deletedBy: row.deleted_by ?? "",
  };
}

/** `statuses` only for the FULL view. */
export function clusterToPb(row: ViewRow, statuses?: AdapterStatusRow[]): Cluster {
  return { $typeName: "hyperfleet.v1.Cluster", ...commonFields(row), href: `/api/hyperfleet/v1/clusters/${row.id}`, kind: "Cluster", adapterStatuses: statuses?.map(adapterStatusToPb) ?? [] };
}

/** `statuses` only for the FULL view. */
export function nodePoolToPb(row: ViewRow, statuses?: AdapterStatusRow[]): NodePool {
  return {
    $typeName: "hyperfleet.v1.NodePool",
    ...commonFields(row),
    adapterStatuses: statuses?.map(adapterStatusToPb) ?? [],
    href: `/api/hyperfleet/v1/clusters/${row.cluster_id}/nodepools/${row.id}`,
    kind: "NodePool",
    clusterId: row.cluster_id ?? "",
  };
}

export function adapterStatusToPb(row: AdapterStatusRow): AdapterStatus {
  return {
    $typeName: "hyperfleet.v1.AdapterStatus",
    resourceId: row.resource_id,
    adapter: row.adapter,
    resourceKind: row.resource_kind,
    observedGeneration: BigInt(row.observed_generation),
    observedTime: timestamp(row.observed_time),
    conditions: row.conditions.map(conditionToPb),
    data: row.data ?? undefined,
    createdTime: timestamp(row.created_time),
    lastReportTime: timestamp(row.last_report_time),
  };
}

/**
 * At most how many more bytes a JSON value takes as binary protobuf (google.protobuf.Value in a
 * Struct or ListValue) than as compact JSON text: 10 per value, container or member. The worst is a
 * number, 1 JSON byte against 11 (its Value's tag and length, a tag and an 8-byte double), which
 * makes binary at most 6 times the JSON. Iterative, so a deep legacy value cannot overflow the stack.
 */
export function binaryExcessBound(value: unknown): number {
  let values = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    values++;
    // One push at a time: spreading a legacy array of a million numbers would overflow the call.
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (v !== null && typeof v === "object") for (const x of Object.values(v)) stack.push(x);
  }
  return 10 * values;
}

/** JSON with object keys sorted, so two equal values compare equal as text (jsonb reorders keys). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

const dateOrNull = (v: unknown) => (v === null || v === undefined ? null : parseIsoTime(v as string));

/** A resource row read as JSON (to_json), with its timestamps as Dates like pg returns them. */
export function resourceRowFromJson(o: Record<string, unknown>): ViewRow {
  return {
    ...(o as unknown as ViewRow),
    last_transition_time: parseIsoTime(o.last_transition_time as string),
    last_updated_time: parseIsoTime(o.last_updated_time as string),
    created_time: parseIsoTime(o.created_time as string),
    updated_time: parseIsoTime(o.updated_time as string),
    deleted_time: dateOrNull(o.deleted_time),
  };
}

/** SQL: every status row of the resource aliased `r`, ordered by adapter, as a JSON array (statusRowFromJson reads each). */
export const STATUS_ROWS_JSON = "coalesce((select json_agg(s order by s.adapter) from adapter_statuses s where s.resource_id = r.id), '[]')";

export function statusRowFromJson(o: Record<string, unknown>): AdapterStatusRow {
  return {
    ...(o as unknown as AdapterStatusRow),
    observed_time: parseIsoTime(o.observed_time as string),
    created_time: parseIsoTime(o.created_time as string),
    last_report_time: parseIsoTime(o.last_report_time as string),
  };
}
