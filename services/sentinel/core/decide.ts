/** What the Sentinel knows of a resource when it decides (spec §5). */
export interface ResourceSnapshot {
  generation: number;
  observedGeneration: number;
  phase: "Ready" | "NotReady";
  lastUpdatedTime: Date;
}

export interface DecideConfig {
  maxAgeNotReadyMs: number;
  maxAgeReadyMs: number;
}

/** Why an event is (or is not) published; the closed set used in logs and metric labels. */
export type DecisionReason =
  | "GenerationAhead"
  | "NotReadyMaxAgeExceeded"
  | "ReadyMaxAgeExceeded"
  | "NotReadyWithinMaxAge"
  | "ReadyWithinMaxAge"
  | "RecentlyPublished"
  | "AwaitingAdapters";

/** This Sentinel's last event for the resource, if it remembers one. */
export interface LastPublished {
  generation: number;
  at: Date;
}

export interface Decision {
  publish: boolean;
  reason: DecisionReason;
}

/** How many not-ready max ages an unanswered event is given before it is published again (it may be lost). */
export const UNANSWERED_RETRY_FACTOR = 6;

/**
 * Spec §5: publish at once when generation is ahead of observed_generation; otherwise when the
 * status is older than the phase's max age (strictly older: exactly max age is not yet due).
 * Backpressure from this Sentinel's own last event for the same generation: within max_age_not_ready
 * it counts as attention already paid; after that, while no required adapter has reported since it
 * (last_updated_time not past it), another event would only queue behind it, so it is repeated only
 * after UNANSWERED_RETRY_FACTOR max ages. Slow adapters thus set the event rate, not the poll.
 */
export function decide(r: ResourceSnapshot, now: Date, cfg: DecideConfig, last?: LastPublished): Decision {
  if (last && last.generation === r.generation) {
    const since = now.getTime() - last.at.getTime();
    if (since < cfg.maxAgeNotReadyMs) return { publish: false, reason: "RecentlyPublished" };
    if (r.lastUpdatedTime <= last.at && since < cfg.maxAgeNotReadyMs * UNANSWERED_RETRY_FACTOR) return { publish: false, reason: "AwaitingAdapters" };
  }
  if (r.generation > r.observedGeneration) return { publish: true, reason: "GenerationAhead" };
  const age = now.getTime() - r.lastUpdatedTime.getTime();
  if (r.phase === "Ready") {
    return age > cfg.maxAgeReadyMs ? { publish: true, reason: "ReadyMaxAgeExceeded" } : { publish: false, reason: "ReadyWithinMaxAge" };
  }
  return age > cfg.maxAgeNotReadyMs ? { publish: true, reason: "NotReadyMaxAgeExceeded" } : { publish: false, reason: "NotReadyWithinMaxAge" };
}
