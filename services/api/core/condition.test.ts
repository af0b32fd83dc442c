import { findCondition, stampTransitions, type Condition } from "./condition.js";

const t0 = new Date("2026-01-01T00:00:02Z");
const t1 = new Date("2026-01-01T00:00:12Z");
const prev: Condition[] = [{ type: "Available", status: "False", reason: "JobRunning", message: "", lastTransitionTime: t0 }];

describe("stampTransitions (spec §3 rule 4)", () => {
  test.each([
    ["status unchanged → keeps the old transition time", "False", t0],
    ["status changed → the report's time", "True", t1],
  ] as const)("%s", (_name, status, want) => {
    const [c] = stampTransitions(prev, [{ type: "Available", status, reason: "x", message: "" }], t1);
    expect(c.lastTransitionTime).toEqual(want);
  });

  test.each([
    ["no previous report → the report's time", undefined],
    ["condition new to this adapter → the report's time", []],
  ] as const)("%s", (_name, previous) => {
    const [c] = stampTransitions(previous, [{ type: "Health", status: "True", reason: "", message: "" }], t1);
    expect(c.lastTransitionTime).toEqual(t1);
  });

  test("findCondition finds by type", () => expect(findCondition(prev, "Available")?.reason).toBe("JobRunning"));
});
