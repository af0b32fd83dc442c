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
  | "RecentlyPublished";

/** This Sentinel's last event for the resource, if it remembers one. */
export interface LastPublished {
  generation: number;
  at: Date;
}

export interface Decision {
  publish: boolean;
  reason: DecisionReason;
}

/**
 * Spec §5: publish at once when generation is ahead of observed_generation; otherwise when the
 * status is older than the phase's max age (strictly older: exactly max age is not yet due).
 * An event this Sentinel published for the same generation less than max_age_not_ready ago counts
 * as attention already paid: adapters get that long to report before the next event, so slow or
 * absent adapters do not turn every poll into an event.
 */
export function decide(r: ResourceSnapshot, now: Date, cfg: DecideConfig, last?: LastPublished): Decision {
  if (last && last.generation === r.generation && now.getTime() - last.at.getTime() < cfg.maxAgeNotReadyMs) {
    return { publish: false, reason: "RecentlyPublished" };
  }
  if (r.generation > r.observedGeneration) return { publish: true, reason: "GenerationAhead" };
  const age = now.getTime() - r.lastUpdatedTime.getTime();
  if (r.phase === "Ready") {
    return age > cfg.maxAgeReadyMs ? { publish: true, reason: "ReadyMaxAgeExceeded" } : { publish: false, reason: "ReadyWithinMaxAge" };
  }
  return age > cfg.maxAgeNotReadyMs ? { publish: true, reason: "NotReadyMaxAgeExceeded" } : { publish: false, reason: "NotReadyWithinMaxAge" };
}
