import { checkPreconditions, type DependencyStatus, type PreconditionResult } from "./preconditions.js";

const s = (adapter: string, observedGeneration: number, available: DependencyStatus["available"]): DependencyStatus => ({ adapter, observedGeneration, available });
/** A dependency working on its generation: applied, healthy, not yet Available (a running Job). */
const working = (adapter: string, observedGeneration: number): DependencyStatus => ({ adapter, observedGeneration, available: "False", applied: "True", health: "True", reason: "JobRunning" });
const failed = (adapter: string, observedGeneration: number): DependencyStatus => ({ adapter, observedGeneration, available: "False", applied: "True", health: "True", reason: "JobFailed" });
const waiting = (adapter: string, observedGeneration: number): DependencyStatus => ({ adapter, observedGeneration, available: "False", applied: "False", health: "True", reason: "PreconditionsNotMet" });
const broken = (adapter: string, observedGeneration: number): DependencyStatus => ({ adapter, observedGeneration, available: "False", applied: "Unknown", health: "False", reason: "KubernetesError" });
const lenient = (...names: string[]) => names.map((adapter) => ({ adapter, strict: false }));
const strict = (...names: string[]) => names.map((adapter) => ({ adapter, strict: true }));

type Row = [string, { generation: number; required: { adapter: string; strict: boolean }[]; statuses: DependencyStatus[]; lastReconciledGeneration?: number; when?: { value: boolean } | { error: string } }, PreconditionResult | string[]];

describe("checkPreconditions (spec §6 step 3, §7)", () => {
  test.each<Row>([
    ["no dependencies → met", { generation: 1, required: [], statuses: [] }, { met: true }],
    ["seed 00:02: dns waits, validation not yet Available", { generation: 1, required: lenient("validation"), statuses: [working("validation", 1)] }, ["validation:NotAvailable"]],
    ["seed 00:32: validation Available at gen 1 → dns proceeds", { generation: 1, required: lenient("validation"), statuses: [s("validation", 1, "True")] }, { met: true }],
    ["placement waits for dns while validation is done", { generation: 1, required: lenient("validation", "dns"), statuses: [s("validation", 1, "True"), s("dns", 1, "False")] }, ["dns:NotAvailable"]],
    ["a dependency that has not reported", { generation: 1, required: lenient("validation"), statuses: [] }, ["validation:NotReported"]],
    ["§7: Available=True at an older generation does not count", { generation: 2, required: lenient("validation"), statuses: [s("validation", 1, "True")], lastReconciledGeneration: 1 }, ["validation:OlderGeneration"]],
    // The seed's 42:02: validation's generation-2 Job runs; the cluster was reconciled at 1.
    ["seed 42:02: validation working on 2 after Ready at 1 → dns proceeds", { generation: 2, required: lenient("validation"), statuses: [working("validation", 2)], lastReconciledGeneration: 1 }, { met: true, working: ["validation"] }],
    ["seed 42:02: placement follows (validation working, dns Available at 2)", { generation: 2, required: lenient("validation", "dns"), statuses: [working("validation", 2), s("dns", 2, "True")], lastReconciledGeneration: 1 }, { met: true, working: ["validation"] }],
    ["first generation: working is not enough (never Available before)", { generation: 1, required: lenient("validation"), statuses: [working("validation", 1)], lastReconciledGeneration: 0 }, ["validation:NotAvailable"]],
    ["never reconciled before, generation 2: working is not enough", { generation: 2, required: lenient("validation"), statuses: [working("validation", 2)], lastReconciledGeneration: 0 }, ["validation:NotAvailable"]],
    ["failed at the current generation never counts", { generation: 2, required: lenient("validation"), statuses: [failed("validation", 2)], lastReconciledGeneration: 1 }, ["validation:Failed"]],
    ["a dependency itself waiting (PreconditionsNotMet) is not working", { generation: 2, required: lenient("dns"), statuses: [waiting("dns", 2)], lastReconciledGeneration: 1 }, ["dns:NotAvailable"]],
    ["a dependency that cannot reach Kubernetes is not working", { generation: 2, required: lenient("validation"), statuses: [broken("validation", 2)], lastReconciledGeneration: 1 }, ["validation:NotAvailable"]],
    ["strict: working does not count", { generation: 2, required: strict("validation"), statuses: [working("validation", 2)], lastReconciledGeneration: 1 }, ["validation:NotAvailable"]],
    ["strict: Available at the current generation counts", { generation: 2, required: strict("validation"), statuses: [s("validation", 2, "True")], lastReconciledGeneration: 1 }, { met: true }],
    ["the expression false", { generation: 1, required: [], statuses: [], when: { value: false } }, ["when:ConditionFalse"]],
    ["the expression failing", { generation: 1, required: [], statuses: [], when: { error: "no such key: region" } }, ["when:ConditionError"]],
    ["the expression true with deps met", { generation: 1, required: lenient("validation"), statuses: [s("validation", 1, "True")], when: { value: true } }, { met: true }],
  ])("%s", (_name, input, want) => {
    const r = checkPreconditions(input);
    if (Array.isArray(want)) {
      expect(r.met).toBe(false);
      if (!r.met) expect(r.unmet.map((u) => `${u.dependency}:${u.reason}`)).toEqual(want);
    } else expect(r).toEqual(want);
  });

  test("the message names each unmet dependency", () => {
    const r = checkPreconditions({ generation: 2, required: lenient("validation", "dns"), statuses: [s("validation", 1, "True")] });
    expect(r.met === false && r.message).toBe("validation has not reported generation 2; dns has not reported");
    const f = checkPreconditions({ generation: 2, required: lenient("validation"), statuses: [failed("validation", 2)], lastReconciledGeneration: 1 });
    expect(f.met === false && f.message).toBe("validation failed at generation 2");
  });
});
