import { findCondition, type Condition, type ConditionStatus } from "./condition.js";

/** The two phases the seed timeline shows (spec §4). */
export type Phase = "Ready" | "NotReady";

/** A resource's computed status (spec §4). */
export interface ResourceStatus {
  phase: Phase;
  observedGeneration: number;
  lastTransitionTime: Date;
  lastUpdatedTime: Date;
  conditions: Condition[];
  /** Required adapters Available at the current generation (what the stored column generates from the conditions). */
  availableAdapters?: number;
}

/** What aggregation needs of one adapter's stored report. */
export interface AdapterReport {
  adapter: string;
  observedGeneration: number;
  conditions: Pick<Condition, "type" | "status" | "reason" | "message">[];
  lastReportTime: Date;
}

export interface AggregateInput {
  generation: number;
  deleting: boolean;
  updatedTime: Date;
  /** The status before this change; undefined for a new resource. */
  previous: ResourceStatus | undefined;
  statuses: readonly AdapterReport[];
  required: readonly string[];
  /** When the change happened: the report's observed_time, or the update/delete time. */
  at: Date;
}

/** Why Reconciled / LastKnownReconciled hold their value. */
export type AggregateReason =
  | "AllAdaptersAvailable"
  | "AdaptersNotAvailable"
  | "AllAdaptersFinalized"
  | "AdaptersNotFinalized"
  | "Reconciled"
  | "NeverReconciled"
  | "AdapterFailed"
  | "Deleting";

/**
 * Computes phase, observed_generation, last_updated_time, last_transition_time and the
 * Reconciled / LastKnownReconciled / <Adapter>Successful conditions (spec §4). Pure.
 */
export function aggregate(input: AggregateInput): ResourceStatus {
  const { generation, deleting, previous, at } = input;
  const byAdapter = new Map(input.statuses.map((s) => [s.adapter, s]));
  const goal = deleting ? "Finalized" : "Available";
  const pending = input.required.filter((a) => {
    const s = byAdapter.get(a);
    return !(s && s.observedGeneration === generation && statusOf(s, goal) === "True");
  });
  const phase: Phase = pending.length === 0 ? "Ready" : "NotReady";

  const requiredReports = input.required.map((a) => byAdapter.get(a));
  const observedGeneration = requiredReports.every((s) => s !== undefined)
    ? Math.min(...requiredReports.map((s) => s!.observedGeneration))
    : 0;
  const atCurrent = requiredReports.filter((s) => s !== undefined && s.observedGeneration === generation);
  const lastUpdatedTime =
    atCurrent.length > 0 ? new Date(Math.min(...atCurrent.map((s) => s!.lastReportTime.getTime()))) : input.updatedTime;
  const lastTransitionTime = previous && previous.phase === phase ? previous.lastTransitionTime : at;

  const reconciled: Computed = {
    type: "Reconciled",
    status: phase === "Ready" ? "True" : "False",
    reason: deleting
      ? phase === "Ready" ? "AllAdaptersFinalized" : "AdaptersNotFinalized"
      : phase === "Ready" ? "AllAdaptersAvailable" : "AdaptersNotAvailable",
    message: pending.length === 0 ? `all required adapters ${goal} at generation ${generation}` : `waiting for ${pending.join(", ")} to be ${goal} at generation ${generation}`,
    observedGeneration: generation,
  };
  const computed: Computed[] = [
    reconciled,
    lastKnownReconciled(input, phase, byAdapter),
    ...input.required.map((a) => adapterSuccessful(a, byAdapter.get(a))),
  ];
  return {
    phase,
    observedGeneration,
    lastTransitionTime,
    lastUpdatedTime,
    availableAdapters: input.required.filter((a) => {
      const s = byAdapter.get(a);
      return s !== undefined && s.observedGeneration === generation && statusOf(s, "Available") === "True";
    }).length,
    conditions: computed.map((c) => {
      const before = previous && findCondition(previous.conditions, c.type);
      return { ...c, lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : at };
    }),
  };
}

type Computed = Omit<Condition, "lastTransitionTime"> & { observedGeneration: number; reason: string };

/**
 * Sticky "last known good" (spec §4): True at generation N once Ready at N; stays True at N while
 * adapters work on a newer generation, until an adapter reports Available=False at N.
 */
function lastKnownReconciled(input: AggregateInput, phase: Phase, byAdapter: Map<string, AdapterReport>): Computed {
  const type = "LastKnownReconciled";
  if (phase === "Ready" && !input.deleting) {
    return { type, status: "True", reason: "Reconciled", message: `generation ${input.generation} reconciled`, observedGeneration: input.generation };
  }
  const before = input.previous && findCondition(input.previous.conditions, type);
  if (!before || before.status !== "True") {
    return {
      type,
      status: "False",
      reason: before?.reason ?? "NeverReconciled",
      message: before?.message ?? "no generation has been reconciled yet",
      observedGeneration: before?.observedGeneration ?? 0,
    };
  }
  const good = before.observedGeneration ?? 0;
  const failed = input.required.find((a) => {
    const s = byAdapter.get(a);
    return s !== undefined && s.observedGeneration === good && statusOf(s, "Available") === "False";
  });
  if (failed !== undefined) {
    return { type, status: "False", reason: "AdapterFailed", message: `${failed} reported Available=False at generation ${good}`, observedGeneration: good };
  }
  return { type, status: "True", reason: "Reconciled", message: `generation ${good} reconciled`, observedGeneration: good };
}

/** `<Adapter>Successful` mirrors the adapter's Available condition (spec §4). */
function adapterSuccessful(adapter: string, s: AdapterReport | undefined): Computed {
  const type = `${pascal(adapter)}Successful`;
  if (!s) return { type, status: "Unknown", reason: "NotReported", message: `${adapter} has not reported`, observedGeneration: 0 };
  const available = findCondition(s.conditions, "Available");
  return {
    type,
    status: available?.status ?? "Unknown",
    reason: available?.reason || (available?.status === "True" ? "Available" : "NotAvailable"),
    message: available?.message ?? "",
    observedGeneration: s.observedGeneration,
  };
}

function statusOf(s: AdapterReport, type: string): ConditionStatus | undefined {
  return findCondition(s.conditions, type)?.status;
}

/** "dns" → "Dns", "node-pool" → "NodePool". */
export function pascal(name: string): string {
  let p = PASCAL.get(name);
  if (p === undefined) {
    p = name.split(/[-_]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
    if (PASCAL.size < 1000) PASCAL.set(name, p); // adapter names: a handful, from configuration
  }
  return p;
}
const PASCAL = new Map<string, string>();
