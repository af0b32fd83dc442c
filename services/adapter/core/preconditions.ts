/** What the precondition check needs of another adapter's stored report. */
export interface DependencyStatus {
  adapter: string;
  observedGeneration: number;
  available: "True" | "False" | "Unknown" | undefined;
}

export interface PreconditionInput {
  generation: number;
  required: readonly string[];
  statuses: readonly DependencyStatus[];
  /** Result of the optional `when` expression: true, false, or an evaluation error. */
  when?: { value: boolean } | { error: string };
}

/** Why a dependency does not count; the closed set shown in messages. */
export type UnmetReason = "NotReported" | "NotAvailable" | "OlderGeneration" | "ConditionFalse" | "ConditionError";

export interface Unmet {
  dependency: string;
  reason: UnmetReason;
}

export type PreconditionResult = { met: true } | { met: false; unmet: Unmet[]; message: string };

/**
 * Spec §6 step 3: each required adapter must be Available=True at the current generation (a report
 * about an older generation does not count, §7), and the optional expression must hold.
 */
export function checkPreconditions(input: PreconditionInput): PreconditionResult {
  const unmet: Unmet[] = [];
  for (const dep of input.required) {
    const s = input.statuses.find((x) => x.adapter === dep);
    if (!s) unmet.push({ dependency: dep, reason: "NotReported" });
    else if (s.observedGeneration !== input.generation) unmet.push({ dependency: dep, reason: "OlderGeneration" });
    else if (s.available !== "True") unmet.push({ dependency: dep, reason: "NotAvailable" });
  }
  if (input.when && "error" in input.when) unmet.push({ dependency: "when", reason: "ConditionError" });
  else if (input.when && !input.when.value) unmet.push({ dependency: "when", reason: "ConditionFalse" });
  if (unmet.length === 0) return { met: true };
  const text: Record<UnmetReason, string> = {
    NotReported: "has not reported",
    NotAvailable: `is not Available at generation ${input.generation}`,
    OlderGeneration: `has not reported generation ${input.generation}`,
    ConditionFalse: "precondition expression is false",
    ConditionError: `precondition expression failed: ${input.when && "error" in input.when ? input.when.error : ""}`,
  };
  return { met: false, unmet, message: unmet.map((u) => `${u.dependency} ${text[u.reason]}`).join("; ") };
}
