import { answerTime, decide, nextAnswerEstimate, published, retryAfterMs, type DecisionReason, type LastPublished, type ResourceSnapshot } from "./decide.js";

const SEED = { maxAgeNotReadyMs: 10_000, maxAgeReadyMs: 30 * 60_000 };
const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);
/** Seed times are MM:SS from cluster creation. */
const at = (mmss: string) => {
  const [m, s] = mmss.split(":").map(Number);
  return new Date(T0 + Math.round((m * 60 + s) * 1000));
};
const snap = (generation: number, observedGeneration: number, phase: "Ready" | "NotReady", lastUpdated: string): ResourceSnapshot => ({
  generation,
  observedGeneration,
  phase,
  lastUpdatedTime: at(lastUpdated),
});

describe("decide (spec §5)", () => {
  test.each([
    ["seed 00:01: new cluster (gen 1, observed 0) → publish at once", snap(1, 0, "NotReady", "00:00"), "00:01", true, "GenerationAhead"],
    ["seed 00:11: NotReady, last update 00:00 → publish", snap(1, 1, "NotReady", "00:00"), "00:11", true, "NotReadyMaxAgeExceeded"],
    ["seed 00:21: NotReady, last update 00:12, 9 s old → no-op", snap(1, 1, "NotReady", "00:12"), "00:21", false, "NotReadyWithinMaxAge"],
    ["seed 11:11: Ready since 11:02 → no-op", snap(1, 1, "Ready", "11:02"), "11:11", false, "ReadyWithinMaxAge"],
    ["seed 11:21: Ready since 11:02 → no-op", snap(1, 1, "Ready", "11:02"), "11:21", false, "ReadyWithinMaxAge"],
    ["seed 41:11: Ready for more than 30 min → publish (drift check)", snap(1, 1, "Ready", "11:02"), "41:11", true, "ReadyMaxAgeExceeded"],
    ["seed 42:01: user changed the cluster (gen 2, observed 1) → publish at once", snap(2, 1, "NotReady", "42:00"), "42:01", true, "GenerationAhead"],
    ["boundary: NotReady exactly 10 s old → not yet", snap(1, 1, "NotReady", "00:00"), "00:10", false, "NotReadyWithinMaxAge"],
    ["boundary: NotReady 10.001 s old → publish", snap(1, 1, "NotReady", "00:00"), "00:10.001", true, "NotReadyMaxAgeExceeded"],
    ["boundary: Ready exactly 30 min old → not yet", snap(1, 1, "Ready", "11:02"), "41:02", false, "ReadyWithinMaxAge"],
    ["boundary: Ready 30 min + 1 ms → publish", snap(1, 1, "Ready", "11:02"), "41:02.001", true, "ReadyMaxAgeExceeded"],
    ["boundary: generation equal to observed → by age only", snap(2, 2, "Ready", "42:02"), "42:03", false, "ReadyWithinMaxAge"],
    ["boundary: generation one ahead, even when Ready and fresh → publish", snap(3, 2, "Ready", "42:02"), "42:03", true, "GenerationAhead"],
  ] as [string, ResourceSnapshot, string, boolean, DecisionReason][])("%s", (_name, r, now, publish, reason) => {
    expect(decide(r, at(now), SEED)).toEqual({ publish, reason });
  });

  test.each([
    ["published 5 s ago for the same generation → wait (adapters get max_age_not_ready to report)", snap(1, 0, "NotReady", "00:00"), { generation: 1, at: at("00:01") }, "00:06", false, "RecentlyPublished"],
    ["boundary: 10 s after an event nobody answered → still waiting for the adapters", snap(1, 0, "NotReady", "00:00"), { generation: 1, at: at("00:01") }, "00:11", false, "AwaitingAdapters"],
    ["boundary: 10 s after an event an adapter answered, generation still ahead → publish again", snap(1, 0, "NotReady", "00:02"), { generation: 1, at: at("00:01") }, "00:11", true, "GenerationAhead"],
    ["published 1 s ago for an older generation → publish the new one at once", snap(2, 1, "Ready", "41:02"), { generation: 1, at: at("42:00") }, "42:01", true, "GenerationAhead"],
    ["published 15 s ago and no adapter has reported since → wait (another event would only queue)", snap(1, 1, "NotReady", "00:00"), { generation: 1, at: at("00:01") }, "00:16", false, "AwaitingAdapters"],
    ["boundary: unanswered for exactly 6 max ages → publish again (the event may be lost)", snap(1, 1, "NotReady", "00:00"), { generation: 1, at: at("00:01") }, "01:01", true, "NotReadyMaxAgeExceeded"],
    ["adapters reported after the last event and it is stale again → publish (the seed's cadence)", snap(1, 1, "NotReady", "00:02"), { generation: 1, at: at("00:01") }, "00:13", true, "NotReadyMaxAgeExceeded"],
  ] as [string, ResourceSnapshot, { generation: number; at: Date }, string, boolean, DecisionReason][])("%s", (_name, r, last, now, publish, reason) => {
    expect(decide(r, at(now), SEED, last)).toEqual({ publish, reason });
  });

  test.each([
    ["answers take 30 s → an unanswered event waits 3 answer times, not 6 max ages", snap(1, 0, "NotReady", "00:00"), { generation: 1, at: at("00:01") }, 30_000, "01:30", false, "AwaitingAdapters"],
    ["boundary: answers take 30 s, 90 s unanswered → publish again", snap(1, 0, "NotReady", "00:00"), { generation: 1, at: at("00:01") }, 30_000, "01:31", true, "GenerationAhead"],
    ["answers fast (1 s) → the floor of 6 max ages still holds", snap(1, 1, "NotReady", "00:00"), { generation: 1, at: at("00:01") }, 1_000, "00:59", false, "AwaitingAdapters"],
    ["third event in a row nobody answered → still the base wait (60 s)", snap(1, 1, "NotReady", "00:00"), { generation: 1, at: at("00:01"), unanswered: 3 }, 0, "01:00", false, "AwaitingAdapters"],
    ["fifth unanswered → waits 4× (240 s)", snap(1, 1, "NotReady", "00:00"), { generation: 1, at: at("00:01"), unanswered: 5 }, 0, "04:00", false, "AwaitingAdapters"],
    ["boundary: fifth unanswered, 240 s later → publish (the event may be lost)", snap(1, 1, "NotReady", "00:00"), { generation: 1, at: at("00:01"), unanswered: 5 }, 0, "04:01", true, "NotReadyMaxAgeExceeded"],
    ["twentieth unanswered → capped at the Ready max age (30 min)", snap(1, 1, "NotReady", "00:00"), { generation: 1, at: at("00:01"), unanswered: 20 }, 0, "30:01", true, "NotReadyMaxAgeExceeded"],
    ["answered since (adapters reported) → the count does not hold it back", snap(1, 1, "NotReady", "00:05"), { generation: 1, at: at("00:01"), unanswered: 20 }, 0, "00:16", true, "NotReadyMaxAgeExceeded"],
    ["a new generation is published at once whatever the old one's count", snap(2, 1, "NotReady", "00:00"), { generation: 1, at: at("00:01"), unanswered: 20 }, 0, "00:02", true, "GenerationAhead"],
  ] as [string, ResourceSnapshot, LastPublished, number, string, boolean, DecisionReason][])("flow control: %s", (_name, r, last, answerMs, now, publish, reason) => {
    expect(decide(r, at(now), SEED, last, answerMs)).toEqual({ publish, reason });
  });

  test("retryAfterMs: max(6 max ages, 3 answer times) for three tries, then doubling, capped at the Ready max age", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 30, Infinity].map((n) => retryAfterMs(SEED, 0, n) / 1000)).toEqual([60, 60, 60, 120, 240, 480, 960, 1800, 1800, 1800]);
    expect([1, 4].map((n) => retryAfterMs(SEED, 40_000, n) / 1000)).toEqual([120, 240]);
    // A Ready max age shorter than the base never shortens the wait below the base.
    expect(retryAfterMs({ maxAgeNotReadyMs: 10_000, maxAgeReadyMs: 1_000 }, 0, 5)).toBe(60_000);
  });

  test.each([
    ["first event", snap(1, 0, "NotReady", "00:00"), undefined, 1],
    ["same generation, nobody answered the last → counts on", snap(1, 0, "NotReady", "00:00"), { generation: 1, at: at("00:01"), unanswered: 2 }, 3],
    ["same generation, answered since → starts again", snap(1, 0, "NotReady", "00:05"), { generation: 1, at: at("00:01"), unanswered: 2 }, 1],
    ["new generation → starts again", snap(2, 1, "NotReady", "00:00"), { generation: 1, at: at("00:01"), unanswered: 2 }, 1],
  ] as [string, ResourceSnapshot, LastPublished | undefined, number][])("published(): %s", (_name, r, last, unanswered) => {
    expect(published(r, at("01:00"), last)).toEqual({ generation: r.generation, at: at("01:00"), unanswered });
  });

  test("answerTime is publish → every required adapter reported, only for the same generation", () => {
    const last = { generation: 1, at: at("00:01") };
    expect(answerTime(snap(1, 0, "NotReady", "00:04.5"), last)).toBe(3_500);
    expect(answerTime(snap(1, 0, "NotReady", "00:01"), last)).toBeUndefined();
    expect(answerTime(snap(2, 1, "NotReady", "00:09"), last)).toBeUndefined();
    expect(answerTime(snap(1, 0, "NotReady", "00:09"), undefined)).toBeUndefined();
  });

  test("the answer estimate starts at the first sample and moves a fifth of the way to each next one", () => {
    expect(nextAnswerEstimate(undefined, 5_000)).toBe(5_000);
    expect(nextAnswerEstimate(5_000, 10_000)).toBe(6_000);
    expect(nextAnswerEstimate(6_000, 1_000)).toBe(5_000);
  });
});

describe("a dependency met (AdapterBecameAvailable)", () => {
  const NOW = new Date("2026-01-01T00:00:10.000Z");
  const CFG = { maxAgeNotReadyMs: 10_000, maxAgeReadyMs: 1_800_000 };
  const snap = (availableAdapters: number | undefined, phase: "Ready" | "NotReady" = "NotReady") => ({ generation: 2, observedGeneration: 2, phase, lastUpdatedTime: new Date("2026-01-01T00:00:09.900Z"), availableAdapters });
  const last = (available: number | undefined, generation = 2) => ({ generation, at: new Date("2026-01-01T00:00:09.000Z"), available });
  test.each([
    ["one more adapter Available since the last event, 1 s after it", snap(2), last(1), true],
    ["as many as when it was published", snap(1), last(1), false],
    ["fewer (an adapter went unavailable)", snap(0), last(1), false],
    ["more, but the resource is Ready (nothing waits)", snap(3, "Ready"), last(2), false],
    ["more, but the last event was for another generation", snap(2), last(0, 1), false],
    ["unknown at the last event (a manual one)", snap(2), last(undefined), false],
    ["unknown now (an older API)", snap(undefined), last(1), false],
  ])("%s → publish %s", (_name, r, l, publish) => {
    const d = decide(r, NOW, CFG, l);
    expect(d.publish).toBe(publish);
    if (publish) expect(d.reason).toBe("AdapterBecameAvailable");
  });
  test("published() remembers how many were Available, so the same count never publishes twice", () => {
    const p = published(snap(2), NOW, last(1));
    expect(p.available).toBe(2);
    expect(decide(snap(2), new Date(NOW.getTime() + 100), CFG, p).publish).toBe(false);
  });
});
