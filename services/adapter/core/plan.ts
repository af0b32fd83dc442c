import type { UpdateStrategy } from "../adapter-config.js";

/** What to do with one object (spec §6 step 4); the closed set used in traces and metrics. */
export type PlanAction = "create" | "skip" | "replace" | "recreate";

export type PlanReason =
  | "Absent"
  | "VanishedAtCurrentGeneration"
  | "SameGeneration"
  | "OtherGeneration"
  | "OtherGenerationImmutable";

export interface PlanInput {
  /** The resource generation being reconciled. */
  generation: number;
  strategy: UpdateStrategy;
  /** The live object's `hyperfleet.io/generation` annotation; undefined when the object is absent. */
  existingGeneration: number | undefined | null;
  exists: boolean;
  /** Whether this adapter's last stored report said Applied=True at `generation`. */
  appliedAtGeneration: boolean;
}

export interface Plan {
  action: PlanAction;
  reason: PlanReason;
}

/**
 * Spec §6/§7: absent → create (recreate when we had applied it at this generation: someone deleted
 * it); same generation → leave it alone; other generation → replace in place, or (a name that should
 * carry the generation but does not match) delete and create.
 */
export function plan(input: PlanInput): Plan {
  if (!input.exists) {
    return input.appliedAtGeneration ? { action: "recreate", reason: "VanishedAtCurrentGeneration" } : { action: "create", reason: "Absent" };
  }
  if (input.existingGeneration === input.generation) return { action: "skip", reason: "SameGeneration" };
  if (input.strategy === "newObject") return { action: "recreate", reason: "OtherGenerationImmutable" };
  return { action: "replace", reason: "OtherGeneration" };
}
