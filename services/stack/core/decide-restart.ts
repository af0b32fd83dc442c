/**
 * What `npm start` does when one of its services exits on its own: start it again after a delay that
 * doubles with each recent crash, or stop the whole stack. Pure: times come in as arguments.
 */

/** When a crashing service is restarted, and when the stack gives up on it. */
export interface RestartPolicy {
  /** This many crashes within `windowMs` is a crash loop: restarting again would only hide it. */
  maxCrashes: number;
  windowMs: number;
  /** The delay before the first restart; each further crash within the window doubles it, up to maxDelayMs. */
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { maxCrashes: 5, windowMs: 60_000, firstDelayMs: 1000, maxDelayMs: 30_000 };

/**
 * Why the stack stops: the service crash-loops, or it exited before it ever listened (a bad configuration
 * or environment, which a restart would meet again).
 */
export type GiveUpReason = "crash-loop" | "never-ready";

export type RestartDecision =
  | { action: "restart"; reason: "crashed"; delayMs: number; recentCrashes: number[] }
  | { action: "give-up"; reason: GiveUpReason; recentCrashes: number[] };

export interface Crash {
  /** When the service crashed before (ms), oldest first. */
  earlierCrashes: readonly number[];
  /** When it crashed this time (ms). */
  now: number;
  /** Whether it ever listened on its port, in this run of the stack. */
  everReady: boolean;
}

/** `recentCrashes` (this one included, oldest first) is what to pass as `earlierCrashes` next time. */
export function decideRestart(crash: Crash, policy: RestartPolicy = DEFAULT_RESTART_POLICY): RestartDecision {
  const recentCrashes = [...crash.earlierCrashes.filter((t) => crash.now - t < policy.windowMs), crash.now];
  if (!crash.everReady) return { action: "give-up", reason: "never-ready", recentCrashes };
  if (recentCrashes.length >= policy.maxCrashes) return { action: "give-up", reason: "crash-loop", recentCrashes };
  const delayMs = Math.min(policy.firstDelayMs * 2 ** (recentCrashes.length - 1), policy.maxDelayMs);
  return { action: "restart", reason: "crashed", delayMs, recentCrashes };
}
