import type { UpdateStrategy } from "../adapter-config.js";

/** What to do with one object (spec §6 step 4); the closed set used in traces and metrics. */
export type PlanAction = "create" | "skip" | "replace" | "recreate" | "reread";

export type PlanReason =
  | "Absent"
  | "VanishedAtCurrentGeneration"
  | "SameGeneration"
  | "OtherGeneration"
  | "OtherGenerationImmutable"
  | "NewerGeneration";

export interface PlanInput {
  /** The resource generation being reconciled. */
  generation: number;
  strategy: UpdateStrategy;
  /** The live object's `hyperfleet.io/generation` annotation; undefined when the object is absent. */
  existingGeneration: number | undefined | null;
  exists: boolean;
  /** Whether this adapter's last stored report said Applied=True at `generation`. */
  appliedAtGeneration: boolean;
  /** The resource was read again after an object newer than it was found: its generation is the truth. */
  reread?: boolean;
}

export interface Plan {
  action: PlanAction;
  reason: PlanReason;
}

/**
 * Spec §6/§7: absent → create (recreate when we had applied it at this generation: someone deleted
 * it); same generation → leave it alone; other generation → replace in place, or (a name that should
 * carry the generation but does not match) delete and create. An object newer than the resource as
 * read was written by a reconcile that read it later (another replica): read the resource again
 * rather than move the object back.
 */
export function plan(input: PlanInput): Plan {
  if (!input.exists) {
    return input.appliedAtGeneration ? { action: "recreate", reason: "VanishedAtCurrentGeneration" } : { action: "create", reason: "Absent" };
  }
  if (input.existingGeneration === input.generation) return { action: "skip", reason: "SameGeneration" };
  if (!input.reread && input.existingGeneration != null && input.existingGeneration > input.generation) return { action: "reread", reason: "NewerGeneration" };
  if (input.strategy === "newObject") return { action: "recreate", reason: "OtherGenerationImmutable" };
  return { action: "replace", reason: "OtherGeneration" };
}
