import { findCondition, type IncomingCondition } from "./condition.js";

/** What happens to a status report (spec §3 rule 3/4); the closed set that feeds metrics and responses. */
export type ReportOutcome =
  | "Created"
  | "Updated"
  | "DiscardedGenerationAhead"
  | "DiscardedGenerationBehind"
  | "DiscardedStale"
  | "DiscardedAvailableUnknown";

/** The stored row's fields the decision looks at. */
export interface StoredReport {
  observedGeneration: number;
  lastReportTime: Date;
}

/** The incoming report's fields the decision looks at. */
export interface IncomingReport {
  observedGeneration: number;
  observedTime: Date;
  conditions: readonly IncomingCondition[];
}

/**
 * Decides whether a valid report for an existing resource is stored or silently discarded
 * (spec §3 rule 3), so that a row never moves backwards.
 */
export function decideReport(stored: StoredReport | undefined, report: IncomingReport, resourceGeneration: number): ReportOutcome {
  if (report.observedGeneration > resourceGeneration) return "DiscardedGenerationAhead";
  if (stored === undefined) return "Created";
  if (report.observedGeneration < stored.observedGeneration) return "DiscardedGenerationBehind";
  if (report.observedGeneration === stored.observedGeneration && report.observedTime < stored.lastReportTime) {
    return "DiscardedStale";
  }
  if (findCondition(report.conditions, "Available")?.status === "Unknown") return "DiscardedAvailableUnknown";
  return "Updated";
}

/** True for the outcomes that write the row. */
export function isStored(outcome: ReportOutcome): outcome is "Created" | "Updated" {
  return outcome === "Created" || outcome === "Updated";
}

/**
 * The observed_time a valid report is stored with: never later than the server's clock. Stored as
 * sent, a time ahead (up to the 5 minutes validateReport allows) would make every genuine report of
 * the same generation DiscardedStale until the clock caught up; clamped, it shadows nothing.
 */
export function clampObservedTime(observedTime: Date, now: Date): Date {
  return observedTime.getTime() > now.getTime() ? now : observedTime;
}
