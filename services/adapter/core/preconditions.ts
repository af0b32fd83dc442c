/** What the precondition check needs of another adapter's stored report. */
export interface DependencyStatus {
  adapter: string;
  observedGeneration: number;
  available: "True" | "False" | "Unknown" | undefined;
  /** Its Applied and Health conditions and the Available reason: together they tell working from failed. */
  applied?: "True" | "False" | "Unknown" | undefined;
  health?: "True" | "False" | "Unknown" | undefined;
  reason?: string;
}

/**
 * One dependency and how much it must have done (spec §6.3). Not strict (the default): it also
 * counts while it is working on the current generation after the resource was reconciled at an
 * earlier one (the seed's 42:02). Strict: only Available at the current generation counts.
 */
export interface Precondition {
  adapter: string;
  strict: boolean;
}

export interface PreconditionInput {
  generation: number;
  required: readonly Precondition[];
  statuses: readonly DependencyStatus[];
  /**
   * The generation the resource was last reconciled at (its LastKnownReconciled condition, when True):
   * every required adapter was Available then. 0 when it never was.
   */
  lastReconciledGeneration?: number;
  /** Result of the optional `when` expression: true, false, or an evaluation error. */
  when?: { value: boolean } | { error: string };
}

/** Why a dependency does not count; the closed set shown in messages. */
export type UnmetReason = "NotReported" | "NotAvailable" | "Failed" | "OlderGeneration" | "ConditionFalse" | "ConditionError";

export interface Unmet {
  dependency: string;
  reason: UnmetReason;
}

/** `working`: the dependencies that counted only because they are working on this generation (for the trace). */
export type PreconditionResult = { met: true; working?: string[] } | { met: false; unmet: Unmet[]; message: string };

/** Reasons that say an adapter's work at this generation failed (a Job that failed, an object gone bad): it never counts. */
export const FAILED_REASONS: ReadonlySet<string> = new Set(["JobFailed", "Failed"]);

/**
 * Spec §6 step 3: each required adapter must be Available=True at the current generation (a report
 * about an older generation does not count, §7) — or, unless the precondition is strict, be working
 * on it (Applied=True, healthy, not failed) after the resource was reconciled at an earlier
 * generation; and the optional expression must hold.
 */
export function checkPreconditions(input: PreconditionInput): PreconditionResult {
  const unmet: Unmet[] = [];
  const working: string[] = [];
  const reconciledBefore = (input.lastReconciledGeneration ?? 0) >= 1 && (input.lastReconciledGeneration ?? 0) < input.generation;
  for (const { adapter, strict } of input.required) {
    const s = input.statuses.find((x) => x.adapter === adapter);
    if (!s) unmet.push({ dependency: adapter, reason: "NotReported" });
    else if (s.observedGeneration !== input.generation) unmet.push({ dependency: adapter, reason: "OlderGeneration" });
    else if (s.available === "True") continue;
    else if (s.reason !== undefined && FAILED_REASONS.has(s.reason)) unmet.push({ dependency: adapter, reason: "Failed" });
    else if (!strict && reconciledBefore && s.applied === "True" && s.health !== "False") working.push(adapter);
    else unmet.push({ dependency: adapter, reason: "NotAvailable" });
  }
  if (input.when && "error" in input.when) unmet.push({ dependency: "when", reason: "ConditionError" });
  else if (input.when && !input.when.value) unmet.push({ dependency: "when", reason: "ConditionFalse" });
  if (unmet.length === 0) return working.length > 0 ? { met: true, working } : { met: true };
  const text: Record<UnmetReason, string> = {
    NotReported: "has not reported",
    NotAvailable: `is not Available at generation ${input.generation}`,
    Failed: `failed at generation ${input.generation}`,
    OlderGeneration: `has not reported generation ${input.generation}`,
    ConditionFalse: "precondition expression is false",
    ConditionError: `precondition expression failed: ${input.when && "error" in input.when ? input.when.error : ""}`,
  };
  return { met: false, unmet, message: unmet.map((u) => `${u.dependency} ${text[u.reason]}`).join("; ") };
}
