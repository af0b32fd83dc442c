import { aggregate, pascal, type AdapterReport, type AggregateInput, type ResourceStatus } from "./aggregate.js";
import type { ConditionStatus } from "./condition.js";

const REQUIRED = ["validation", "dns", "placement"];
const t = (mmss: string) => new Date(`2026-01-01T00:${mmss}.000Z`);

function report(adapter: string, gen: number, available: ConditionStatus, at: string, extra: Record<string, ConditionStatus> = {}): AdapterReport {
  const conditions = [
    { type: "Applied", status: "True" as ConditionStatus, reason: "", message: "" },
    { type: "Available", status: available, reason: available === "True" ? "JobSucceeded" : "JobRunning", message: "" },
    { type: "Health", status: "True" as ConditionStatus, reason: "", message: "" },
    ...Object.entries(extra).map(([type, status]) => ({ type, status, reason: "", message: "" })),
  ];
  return { adapter, observedGeneration: gen, conditions, lastReportTime: t(at) };
}

function input(over: Partial<AggregateInput>): AggregateInput {
  return { generation: 1, deleting: false, updatedTime: t("00:00"), previous: undefined, statuses: [], required: REQUIRED, at: t("00:00"), ...over };
}

const allReady = (gen: number, at = "11:02") => REQUIRED.map((a) => report(a, gen, "True", at));
const cond = (s: ResourceStatus, type: string) => s.conditions.find((c) => c.type === type)!;

describe("aggregate: phase (spec §4)", () => {
  test.each([
    ["no reports yet → NotReady", [], "NotReady"],
    ["every required adapter Available=True at the current generation → Ready", allReady(1), "Ready"],
    ["one adapter Available=False → NotReady", [report("validation", 1, "True", "00:22"), report("dns", 1, "True", "00:42"), report("placement", 1, "False", "00:52")], "NotReady"],
    ["one adapter Available=True only at an older generation → NotReady", [...allReady(2).slice(0, 2), report("placement", 1, "True", "11:02")], "NotReady"],
    ["a required adapter missing → NotReady", allReady(2).slice(0, 2), "NotReady"],
    ["a non-required adapter reporting False does not block → Ready", [...allReady(2), report("audit", 2, "False", "11:02")], "Ready"],
  ] as [string, AdapterReport[], string][])("%s", (_name, statuses, phase) => {
    const gen = statuses.some((s) => s.observedGeneration === 2) ? 2 : 1;
    expect(aggregate(input({ generation: gen, statuses })).phase).toBe(phase);
  });

  test.each([
    ["deleting: Finalized=True everywhere → Ready", REQUIRED.map((a) => report(a, 2, "False", "50:00", { Finalized: "True" })), "Ready"],
    ["deleting: Available=True is not enough → NotReady", allReady(2), "NotReady"],
    ["deleting: one Finalized=False → NotReady", [...REQUIRED.slice(0, 2).map((a) => report(a, 2, "False", "50:00", { Finalized: "True" })), report("placement", 2, "False", "50:00", { Finalized: "False" })], "NotReady"],
  ] as [string, AdapterReport[], string][])("%s (spec §8)", (_name, statuses, phase) => {
    expect(aggregate(input({ generation: 2, deleting: true, statuses })).phase).toBe(phase);
  });
});

describe("aggregate: observed_generation and last_updated_time (spec §4)", () => {
  test.each([
    ["0 until every required adapter has reported", [report("validation", 1, "False", "00:02")], 1, 0, "00:02"],
    ["the lowest generation among the required adapters", [report("validation", 2, "False", "42:02"), report("dns", 2, "True", "42:02"), report("placement", 1, "True", "41:02")], 2, 1, "42:02"],
    ["equal generations: that generation", allReady(1, "11:02"), 1, 1, "11:02"],
    ["last_updated_time is the oldest report at the current generation", [report("validation", 1, "True", "00:42"), report("dns", 1, "True", "00:32"), report("placement", 1, "False", "00:52")], 1, 1, "00:32"],
    ["reports at older generations are ignored for last_updated_time", [report("validation", 2, "False", "42:02"), report("dns", 1, "True", "41:02"), report("placement", 1, "True", "41:02")], 2, 1, "42:02"],
    ["no report at the current generation → updated_time", allReady(1, "41:02"), 2, 1, "42:00"],
  ] as [string, AdapterReport[], number, number, string][])("%s", (_name, statuses, generation, og, lut) => {
    const s = aggregate(input({ generation, statuses, updatedTime: t("42:00") }));
    expect(s.observedGeneration).toBe(og);
    expect(s.lastUpdatedTime).toEqual(t(lut));
  });
});

describe("aggregate: last_transition_time (spec §4)", () => {
  const notReady = aggregate(input({ at: t("00:00") }));
  test.each([
    ["phase changes → the time of the change (seed: Ready at 11:02)", notReady, allReady(1), "11:02", "11:02"],
    ["phase unchanged → kept", notReady, [report("validation", 1, "False", "00:12")], "00:12", "00:00"],
  ] as [string, ResourceStatus, AdapterReport[], string, string][])("%s", (_name, previous, statuses, at, ltt) => {
    expect(aggregate(input({ previous, statuses, at: t(at) })).lastTransitionTime).toEqual(t(ltt));
  });
});

describe("aggregate: conditions (spec §4)", () => {
  const ready1 = aggregate(input({ statuses: allReady(1), at: t("11:02") }));
  test.each([
    ["LastKnownReconciled never reconciled → False NeverReconciled", input({}), "False", "NeverReconciled", 0],
    ["LastKnownReconciled True at the generation that is Ready", input({ statuses: allReady(1), at: t("11:02") }), "True", "Reconciled", 1],
    ["LastKnownReconciled stays True at 1 while adapters work on 2", input({ generation: 2, previous: ready1, statuses: [report("validation", 2, "False", "42:02"), report("dns", 2, "True", "42:02"), report("placement", 1, "True", "41:02")], at: t("42:02") }), "True", "Reconciled", 1],
    ["LastKnownReconciled turns False when an adapter reports Available=False at 1", input({ previous: ready1, statuses: [report("validation", 1, "True", "41:02"), report("dns", 1, "False", "41:02"), report("placement", 1, "True", "41:02")], at: t("41:02") }), "False", "AdapterFailed", 1],
  ] as [string, AggregateInput, string, string, number][])("%s", (_name, inp, status, reason, gen) => {
    const c = cond(aggregate(inp), "LastKnownReconciled");
    expect([c.status, c.reason, c.observedGeneration]).toEqual([status, reason, gen]);
  });

  test.each([
    ["Reconciled mirrors the phase", "Reconciled", "True"],
    ["<Adapter>Successful mirrors Available", "DnsSuccessful", "True"],
  ])("%s", (_name, type, status) => {
    expect(cond(ready1, type).status).toBe(status);
  });

  test("<Adapter>Successful is Unknown/NotReported before the adapter reports", () => {
    const c = cond(aggregate(input({})), "PlacementSuccessful");
    expect([c.status, c.reason]).toEqual(["Unknown", "NotReported"]);
  });

  test("a computed condition's last_transition_time moves only when its status changes", () => {
    const again = aggregate(input({ previous: ready1, statuses: allReady(1, "41:02"), at: t("41:02") }));
    expect(cond(again, "Reconciled").lastTransitionTime).toEqual(t("11:02"));
    const broken = aggregate(input({ previous: again, statuses: [report("validation", 1, "False", "45:00"), ...allReady(1).slice(1)], at: t("45:00") }));
    expect(cond(broken, "Reconciled").lastTransitionTime).toEqual(t("45:00"));
  });
});

test.each([
  ["dns", "Dns"],
  ["validation", "Validation"],
  ["node-pool", "NodePool"],
])("pascal(%s) = %s", (input, out) => expect(pascal(input)).toBe(out));
