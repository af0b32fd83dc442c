/**
 * Flow control across resources: how many events may wait for the adapters at once (the window), and
 * which due resources go first when more are due than the window allows. Pure; the poll loop feeds it.
 *
 * Like TCP's congestion window, sized by delay (Vegas): the adapters' queue should hold about
 * `targetMs` of work, so an event published now is answered within about that, whatever else is due.
 * Once per answer time the window is scaled by target ÷ the median answer time sampled since (at most ×2 or ½),
 * grown only when it was what held publishing back, and kept between min and max.
 */
import type { DecisionReason } from "./decide.js";

export interface FlowConfig {
  /** How long an event should wait for its answers at most, in the adapters' queue. */
  targetMs: number;
  minWindow: number;
  maxWindow: number;
}

/** The window a Sentinel starts with: enough for a burst of new resources, small enough for the slowest adapters. */
export const INITIAL_WINDOW = 100;
export const MIN_WINDOW = 100;
/** MAX_OUTSTANDING_EVENTS' default: the window's ceiling. */
export const DEFAULT_MAX_OUTSTANDING = 10_000;
/** The physical floor of the target: one adapter round trip (API read, Kubernetes, report) under load. */
export const MIN_TARGET_MS = 1000;

/** The target for a poll interval: two polls (a new resource is answered within two), at least MIN_TARGET_MS. */
export function flowTargetMs(pollIntervalMs: number): number {
  return Math.max(MIN_TARGET_MS, 2 * pollIntervalMs);
}

/**
 * The next window after a poll. `samplesMs` are the answer times seen in it: exact ones (answered
 * resources seen again), upper bounds no larger than the target (resources no longer due, so
 * answered since), and lower bounds (events unanswered past their retry time). No samples: unchanged.
 * The median decides, not the mean: a few events lost with a killed adapter (answered only when the
 * broker redelivers them a minute later) must not pin the window at its minimum while every other
 * answer comes in time, as they did in the chaos suite.
 */
export function nextWindow(window: number, samplesMs: readonly number[], limited: boolean, cfg: FlowConfig): number {
  if (samplesMs.length === 0) return window;
  const factor = Math.min(2, Math.max(0.5, cfg.targetMs / Math.max(1, median(samplesMs))));
  if (factor > 1 && !limited) return window;
  return Math.min(cfg.maxWindow, Math.max(cfg.minWindow, window * factor));
}

/** Lower goes first: a change the user made, then resources not ready (a dependency met first), then drift checks of ready ones. */
export function priorityOf(reason: DecisionReason): number {
  return reason === "GenerationAhead" ? 0 : reason === "AdapterBecameAvailable" || reason === "NotReadyMaxAgeExceeded" ? 1 : 2;
}

export interface Candidate {
  reason: DecisionReason;
  lastUpdatedTime: Date;
}

/** Which of the due candidates to publish now: by priority, then longest waiting first; at most `budget`. */
export function admit<T extends Candidate>(candidates: readonly T[], budget: number): { now: T[]; later: T[] } {
  if (candidates.length <= budget) return { now: [...candidates], later: [] };
  const ordered = [...candidates].sort((a, b) => priorityOf(a.reason) - priorityOf(b.reason) || a.lastUpdatedTime.getTime() - b.lastUpdatedTime.getTime());
  const n = Math.max(0, Math.floor(budget));
  return { now: ordered.slice(0, n), later: ordered.slice(n) };
}

/**
 * The time to the next poll. While events wait for answers, a poll sooner than a quarter of the answer
 * time learns almost nothing new and costs a listing of every due resource (at `--speed 600`, polls
 * every 17 ms kept the API and the Sentinel busy listing 1,000 held resources and starved the
 * adapters); otherwise the configured interval. Without a live watch, never stretched past the
 * target, so a new resource still waits at most about one target for its first event; with one, new
 * resources and met dependencies are published as they happen, and what is left to the poll (repeats,
 * due only after an answer time) can wait a quarter of it: 10,000 clusters queued at once had two
 * Sentinels list ~7,000 of them every second to publish nothing.
 */
export function pollIntervalMs(configuredMs: number, awaitingAnswers: boolean, answerMs: number | undefined, targetMs: number, watchLive = false): number {
  if (!awaitingAnswers) return configuredMs;
  const quarter = (answerMs ?? 0) / 4;
  return Math.max(configuredMs, watchLive ? quarter : Math.min(quarter, targetMs));
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
