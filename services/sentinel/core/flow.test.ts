import { admit, flowTargetMs, nextWindow, pollIntervalMs, priorityOf, type Candidate } from "./flow.js";

const CFG = { targetMs: 2000, minWindow: 10, maxWindow: 1000 };

describe("the window of unanswered events (flow control)", () => {
  test.each([
    ["no answer seen this poll → unchanged", 100, [], true, 100],
    ["answers at half the target while the window held resources back → doubles", 100, [1000, 1000], true, 200],
    ["answers at a tenth of the target → at most doubles", 100, [200], true, 200],
    ["answers fast but the window was not full → no growth (nothing to probe)", 100, [200], false, 100],
    ["answers at twice the target → halves", 100, [4000], false, 50],
    ["answers at ten times the target → at most halves", 100, [20_000], true, 50],
    ["answers at 1.25 × the target → shrinks to 80 %", 100, [2500], true, 80],
    ["never below the minimum", 12, [60_000], true, 10],
    ["never above the maximum", 800, [100], true, 1000],
    ["the median of the samples decides", 100, [500, 3500], true, 100],
    ["a few very late answers among fast ones do not shrink it", 100, [200, 300, 400, 60_000, 90_000], true, 200],
    ["most answers late → halves", 100, [200, 5000, 6000], true, 50],
  ] as [string, number, number[], boolean, number][])("%s", (_name, window, samples, limited, want) => {
    expect(nextWindow(window, samples, limited, CFG)).toBeCloseTo(want, 6);
  });

  test("the target is two polls, never below one second", () => {
    expect([17, 500, 10_000].map(flowTargetMs)).toEqual([1000, 1000, 20_000]);
  });
});

describe("admit: which due resources go first when the window is short", () => {
  const c = (name: string, reason: Candidate["reason"], updated: number) => ({ name, reason, lastUpdatedTime: new Date(updated) });
  const due = [c("drift-old", "ReadyMaxAgeExceeded", 1), c("notready-new", "NotReadyMaxAgeExceeded", 50), c("changed", "GenerationAhead", 90), c("notready-old", "NotReadyMaxAgeExceeded", 10), c("drift-new", "ReadyMaxAgeExceeded", 80)];

  test.each([
    [10, ["drift-old", "notready-new", "changed", "notready-old", "drift-new"]],
    [3, ["changed", "notready-old", "notready-new"]],
    [1, ["changed"]],
    [0, []],
    [-5, []],
    [2.9, ["changed", "notready-old"]],
  ] as [number, string[]][])("budget %d → %j", (budget, names) => {
    const { now, later } = admit(due, budget);
    expect(now.map((x) => x.name)).toEqual(names);
    expect(now.length + later.length).toBe(due.length);
  });

  test("a change the user made outranks resources not ready, which outrank drift checks", () => {
    expect(["GenerationAhead", "NotReadyMaxAgeExceeded", "ReadyMaxAgeExceeded"].map((r) => priorityOf(r as Candidate["reason"]))).toEqual([0, 1, 2]);
  });
});

test.each([
  ["nothing awaited → the configured interval", 17, false, 1000, 17, false],
  ["answers awaited, taking 1 s → a quarter of it", 17, true, 1000, 250, false],
  ["answers awaited but fast → the configured interval", 10_000, true, 400, 10_000, false],
  ["no answer time known yet → the configured interval", 17, true, undefined, 17, false],
  ["answers taking a minute, no watch → never past the target (1 s)", 17, true, 60_000, 1000, false],
  ["answers taking a minute, the watch live → a quarter of it", 17, true, 60_000, 15_000, true],
  ["the watch live, nothing awaited → the configured interval", 1000, false, 60_000, 1000, true],
  ["the watch live, answers fast → the configured interval", 1000, true, 400, 1000, true],
] as [string, number, boolean, number | undefined, number, boolean][])("pollIntervalMs: %s", (_name, configured, awaiting, answer, want, live) => {
  expect(pollIntervalMs(configured, awaiting, answer, 1000, live)).toBe(want);
});
