import { decide, type DecisionReason, type ResourceSnapshot } from "./decide.js";

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
});
