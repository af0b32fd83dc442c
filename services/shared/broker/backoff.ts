import type { RetryPolicy } from "./broker.js";

/** Resubscribe waits: 1 s, 2 s, 4 s ... up to 30 s, each jittered. */
export const DEFAULT_RETRY: RetryPolicy = { initialMs: 1000, maxMs: 30_000 };

/**
 * The wait before retry number `attempt` (0 for the first): `initialMs` doubled per attempt and capped
 * at `maxMs`, then cut by up to half by `random` (in [0, 1)): "equal jitter". The cap keeps a long
 * outage from pushing recovery minutes out; the jitter keeps adapters that lost one broker together
 * from hitting it in step when it returns.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: number): number {
  // 2 ** 30 already exceeds any sane cap; stopping there keeps the product finite.
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.round(base / 2 + (base / 2) * random);
}
