import { clampObservedTime, decideReport, isStored, type IncomingReport, type ReportOutcome, type StoredReport } from "./report.js";
import type { ConditionStatus } from "./condition.js";

const at = (s: string) => new Date(`2026-01-01T00:${s}.000Z`);
const incoming = (gen: number, time: string, available: ConditionStatus = "False"): IncomingReport => ({
  observedGeneration: gen,
  observedTime: at(time),
  conditions: [
    { type: "Applied", status: "True", reason: "", message: "" },
    { type: "Available", status: available, reason: "", message: "" },
    { type: "Health", status: "True", reason: "", message: "" },
  ],
});
const stored = (gen: number, time: string): StoredReport => ({ observedGeneration: gen, lastReportTime: at(time) });

describe("decideReport (spec §3 rules 3-4)", () => {
  test.each([
    ["first report → Created", undefined, incoming(1, "00:02"), 1, "Created"],
    ["same generation, later time → Updated", stored(1, "00:02"), incoming(1, "00:12"), 1, "Updated"],
    ["same generation, same time (a retry) → Updated", stored(1, "00:12"), incoming(1, "00:12"), 1, "Updated"],
    ["newer generation → Updated", stored(1, "41:02"), incoming(2, "42:02"), 2, "Updated"],
    ["generation greater than the resource's → discarded", stored(1, "00:02"), incoming(2, "00:12"), 1, "DiscardedGenerationAhead"],
    ["generation greater than the resource's, first report → discarded", undefined, incoming(2, "00:12"), 1, "DiscardedGenerationAhead"],
    ["generation lower than the stored one → discarded", stored(2, "42:02"), incoming(1, "43:00"), 2, "DiscardedGenerationBehind"],
    ["same generation, older observed_time → discarded", stored(1, "00:12"), incoming(1, "00:11"), 1, "DiscardedStale"],
    ["Available=Unknown when a row exists → discarded", stored(1, "00:02"), incoming(1, "00:12", "Unknown"), 1, "DiscardedAvailableUnknown"],
    ["Available=Unknown as the first report → Created", undefined, incoming(1, "00:02", "Unknown"), 1, "Created"],
  ] as [string, StoredReport | undefined, IncomingReport, number, ReportOutcome][])("%s", (_name, s, r, gen, outcome) => {
    expect(decideReport(s, r, gen)).toBe(outcome);
  });

  test.each([
    ["Created", true],
    ["Updated", true],
    ["DiscardedStale", false],
  ] as [ReportOutcome, boolean][])("isStored(%s) = %s", (o, want) => expect(isStored(o)).toBe(want));
});

describe("clampObservedTime (spec §3 rule 1): never later than the server's clock", () => {
  const now = new Date("2026-01-01T00:10:00.000Z");
  const plus = (ms: number) => new Date(now.getTime() + ms);
  test.each([
    ["in the past → as sent", plus(-60_000), plus(-60_000)],
    ["exactly now → as sent", now, now],
    ["1 ms ahead → now", plus(1), now],
    ["Regression guard: 290 s ahead was stored and shadowed every genuine report until then → now", plus(290_000), now],
    ["5 min ahead (the most validateReport allows) → now", plus(300_000), now],
  ])("%s", (_name, observed, stored) => {
    expect(clampObservedTime(observed, now)).toEqual(stored);
  });

  test("a clamped report no longer makes the next genuine one stale", () => {
    const hostile = { ...incoming(1, "00:00"), observedTime: clampObservedTime(plus(290_000), now) };
    const stored: StoredReport = { observedGeneration: 1, lastReportTime: hostile.observedTime };
    const genuine = { ...incoming(1, "00:00"), observedTime: plus(1_000) };
    expect(decideReport(stored, genuine, 1)).toBe("Updated");
    // Without the clamp, the same genuine report is discarded.
    expect(decideReport({ observedGeneration: 1, lastReportTime: plus(290_000) }, genuine, 1)).toBe("DiscardedStale");
  });
});
