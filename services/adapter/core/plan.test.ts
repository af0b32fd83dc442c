import { plan, type PlanAction, type PlanInput, type PlanReason } from "./plan.js";

const base: PlanInput = { generation: 1, strategy: "newObject", existingGeneration: undefined, exists: false, appliedAtGeneration: false };

describe("plan (spec §6 step 4, §7)", () => {
  test.each([
    ["seed 00:02: no job yet → create validation-<id>-gen1", {}, "create", "Absent"],
    ["seed 00:12: the job exists at this generation → leave it alone", { exists: true, existingGeneration: 1 }, "skip", "SameGeneration"],
    ["§7: a job that vanished at the current generation is re-created", { appliedAtGeneration: true }, "recreate", "VanishedAtCurrentGeneration"],
    ["§7 generation 2: the gen-2 job name is new → create a second job", { generation: 2 }, "create", "Absent"],
    ["boundary: existing annotation one generation behind, DNS record → replace in place", { strategy: "replace", exists: true, existingGeneration: 1, generation: 2 }, "replace", "OtherGeneration"],
    ["boundary: existing annotation equal, DNS record → skip", { strategy: "replace", exists: true, existingGeneration: 2, generation: 2 }, "skip", "SameGeneration"],
    ["placement job (annotate) at an older generation → replace (annotation patch)", { strategy: "annotate", exists: true, existingGeneration: 1, generation: 2 }, "replace", "OtherGeneration"],
    ["an object without the annotation is brought under management → replace", { strategy: "replace", exists: true, existingGeneration: null }, "replace", "OtherGeneration"],
    ["an immutable object found at another generation → recreate", { exists: true, existingGeneration: 1, generation: 2 }, "recreate", "OtherGenerationImmutable"],
    ["replicas: the record is at generation 3, this reconcile read 2 → read the resource again, never move it back", { strategy: "replace", exists: true, existingGeneration: 3, generation: 2 }, "reread", "NewerGeneration"],
    ["replicas: placement job annotated one ahead of the resource as read → reread", { strategy: "annotate", exists: true, existingGeneration: 3, generation: 2 }, "reread", "NewerGeneration"],
    ["replicas: an immutable object newer than the read → reread, not recreate", { exists: true, existingGeneration: 2, generation: 1 }, "reread", "NewerGeneration"],
    ["read again and still older (the API's generation went back: a restored database) → the API is the truth: replace", { strategy: "replace", exists: true, existingGeneration: 3, generation: 2, reread: true }, "replace", "OtherGeneration"],
  ] as [string, Partial<PlanInput>, PlanAction, PlanReason][])("%s", (_name, over, action, reason) => {
    expect(plan({ ...base, ...over })).toEqual({ action, reason });
  });
});
