/** What the Sentinel knows of a resource when it decides (spec §5). */
export interface ResourceSnapshot {
  generation: number;
  observedGeneration: number;
  phase: "Ready" | "NotReady";
  lastUpdatedTime: Date;
  /** Required adapters Available at the current generation (status.available_adapters). */
  availableAdapters?: number;
}

export interface DecideConfig {
  maxAgeNotReadyMs: number;
  maxAgeReadyMs: number;
}

/** Why an event is (or is not) published; the closed set used in logs and metric labels. */
export type DecisionReason =
  | "GenerationAhead"
  | "AdapterBecameAvailable"
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
  /** Events in a row for this generation that no adapter round has answered, this one included (default 1). */
  unanswered?: number;
  /** How many required adapters were Available when it was published (unknown: never "more since"). */
  available?: number;
}

export interface Decision {
  publish: boolean;
  reason: DecisionReason;
}

/** How many not-ready max ages an unanswered event is given at least before it is published again (it may be lost). */
export const UNANSWERED_RETRY_FACTOR = 6;
/**
 * Unanswered events in a row repeated at the base wait before the waits double: a fault that loses a
 * few events (an adapter killed with them leased) costs one base wait per try, as before flow control,
 * and only adapters away for long make the waits grow.
 */
export const FLAT_RETRIES = 3;
/** How many answer times (publish → every required adapter reported) an unanswered event is given. */
export const ANSWER_TIME_FACTOR = 3;

/**
 * How long an unanswered event is given before the next one for the same generation: long enough
 * for the adapters as they are now (a multiple of the recent answer time, `answerMs`, and never less
 * than UNANSWERED_RETRY_FACTOR not-ready max ages), doubled for every further event nobody answered
 * after the first FLAT_RETRIES,
 * and at most the larger of that and the Ready max age, so a lost event is still repeated.
 */
export function retryAfterMs(cfg: DecideConfig, answerMs: number, unanswered: number): number {
  const base = Math.max(cfg.maxAgeNotReadyMs * UNANSWERED_RETRY_FACTOR, answerMs * ANSWER_TIME_FACTOR);
  return Math.min(base * 2 ** Math.max(0, unanswered - FLAT_RETRIES), Math.max(base, cfg.maxAgeReadyMs));
}

/**
 * Spec §5: publish at once when generation is ahead of observed_generation; otherwise when the
 * status is older than the phase's max age (strictly older: exactly max age is not yet due).
 * Flow control from this Sentinel's own last event for the same generation: within
 * max_age_not_ready it counts as attention already paid; after that, while the adapters have not all
 * reported since it (last_updated_time not past it), another event would only queue behind it, so
 * it is repeated only after retryAfterMs(): a multiple of how long answers take now, doubling after
 * three tries while they do not come. Slow adapters thus set the event rate, not the poll, and a resource never has
 * more than a few events waiting however long its adapters are away.
 */
export function decide(r: ResourceSnapshot, now: Date, cfg: DecideConfig, last?: LastPublished, answerMs = 0): Decision {
  // A required adapter became Available at this generation since the last event: the adapters that
  // wait on it (preconditions) hear of it now, not a max age later. Only growth counts, so this adds
  // at most one event per adapter and generation, and never repeats.
  if (last && last.generation === r.generation && r.phase === "NotReady" && r.availableAdapters !== undefined && last.available !== undefined && r.availableAdapters > last.available) {
    return { publish: true, reason: "AdapterBecameAvailable" };
  }
  if (last && last.generation === r.generation) {
    const since = now.getTime() - last.at.getTime();
    if (since < cfg.maxAgeNotReadyMs) return { publish: false, reason: "RecentlyPublished" };
    if (r.lastUpdatedTime <= last.at && since < retryAfterMs(cfg, answerMs, last.unanswered ?? 1)) return { publish: false, reason: "AwaitingAdapters" };
  }
  if (r.generation > r.observedGeneration) return { publish: true, reason: "GenerationAhead" };
  const age = now.getTime() - r.lastUpdatedTime.getTime();
  if (r.phase === "Ready") {
    return age > cfg.maxAgeReadyMs ? { publish: true, reason: "ReadyMaxAgeExceeded" } : { publish: false, reason: "ReadyWithinMaxAge" };
  }
  return age > cfg.maxAgeNotReadyMs ? { publish: true, reason: "NotReadyMaxAgeExceeded" } : { publish: false, reason: "NotReadyWithinMaxAge" };
}

/** The memory of an event published now for `r`: it counts on from `last` while nobody has answered. */
export function published(r: ResourceSnapshot, now: Date, last?: LastPublished): LastPublished {
  const unanswered = last && last.generation === r.generation && r.lastUpdatedTime <= last.at ? (last.unanswered ?? 1) + 1 : 1;
  return { generation: r.generation, at: now, unanswered, ...(r.availableAdapters !== undefined ? { available: r.availableAdapters } : {}) };
}

/**
 * An answer time seen in a poll: the resource's last_updated_time (the oldest report of its required
 * adapters) passed this Sentinel's last event for the same generation, so every adapter has answered
 * it. Undefined when the snapshot says nothing about it.
 */
export function answerTime(r: ResourceSnapshot, last?: LastPublished): number | undefined {
  if (!last || last.generation !== r.generation || r.lastUpdatedTime <= last.at) return undefined;
  return r.lastUpdatedTime.getTime() - last.at.getTime();
}

/** Weight of a new answer time in the running estimate: recent rounds count most, one outlier little. */
export const ANSWER_SMOOTHING = 0.2;

/** The running answer-time estimate after one more sample. */
export function nextAnswerEstimate(estimateMs: number | undefined, sampleMs: number): number {
  return estimateMs === undefined ? sampleMs : estimateMs + ANSWER_SMOOTHING * (sampleMs - estimateMs);
}
