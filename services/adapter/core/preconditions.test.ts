import { checkPreconditions, type DependencyStatus, type PreconditionResult } from "./preconditions.js";

const s = (adapter: string, observedGeneration: number, available: DependencyStatus["available"]): DependencyStatus => ({ adapter, observedGeneration, available });

describe("checkPreconditions (spec §6 step 3, §7)", () => {
  test.each([
    ["no dependencies → met", [], [], undefined, { met: true }],
    ["seed 00:02: dns waits, validation not yet Available", ["validation"], [s("validation", 1, "False")], undefined, ["validation:NotAvailable"]],
    ["seed 00:32: validation Available at gen 1 → dns proceeds", ["validation"], [s("validation", 1, "True")], undefined, { met: true }],
    ["placement waits for dns while validation is done", ["validation", "dns"], [s("validation", 1, "True"), s("dns", 1, "False")], undefined, ["dns:NotAvailable"]],
    ["a dependency that has not reported", ["validation"], [], undefined, ["validation:NotReported"]],
    ["§7: Available=True at an older generation does not count", ["validation"], [s("validation", 1, "True")], undefined, ["validation:OlderGeneration"]],
    ["the expression false", [], [], { value: false }, ["when:ConditionFalse"]],
    ["the expression failing", [], [], { error: "no such key: region" }, ["when:ConditionError"]],
    ["the expression true with deps met", ["validation"], [s("validation", 1, "True")], { value: true }, { met: true }],
  ] as [string, string[], DependencyStatus[], { value: boolean } | { error: string } | undefined, PreconditionResult | string[]][])("%s", (name, required, statuses, when, want) => {
    const generation = name.startsWith("§7") ? 2 : 1;
    const r = checkPreconditions({ generation, required, statuses, when });
    if (Array.isArray(want)) {
      expect(r.met).toBe(false);
      if (!r.met) expect(r.unmet.map((u) => `${u.dependency}:${u.reason}`)).toEqual(want);
    } else expect(r).toEqual(want);
  });

  test("the message names each unmet dependency", () => {
    const r = checkPreconditions({ generation: 2, required: ["validation", "dns"], statuses: [s("validation", 1, "True")] });
    expect(r.met === false && r.message).toBe("validation has not reported generation 2; dns has not reported");
  });
});
