/** The three condition states, as stored and as the filter language spells them. */
export type ConditionStatus = "True" | "False" | "Unknown";

/** A condition as stored: adapters' reported ones and the API's computed ones. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: Date;
  /** Set on computed conditions: the generation the condition speaks about. */
  observedGeneration?: number;
}

/** A condition as an adapter sends it, before the API stamps its transition time. */
export type IncomingCondition = Omit<Condition, "lastTransitionTime" | "observedGeneration">;

/** The condition of `type`, if present. */
export function findCondition<C extends { type: string }>(conditions: readonly C[], type: string): C | undefined {
  return conditions.find((c) => c.type === type);
}

/**
 * Stamps each incoming condition with a last_transition_time that moves only when its status
 * changes from the previous list (spec §3 rule 4).
 */
export function stampTransitions(previous: readonly Condition[] | undefined, incoming: readonly IncomingCondition[], at: Date): Condition[] {
  return incoming.map((c) => {
    const before = previous && findCondition(previous, c.type);
    return { ...c, lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : at };
  });
}
