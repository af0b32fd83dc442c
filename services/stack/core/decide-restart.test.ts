import { DEFAULT_RESTART_POLICY, decideRestart, type Crash, type RestartDecision, type RestartPolicy } from "./decide-restart.js";

const T = 1_000_000;
const ready = (earlierCrashes: number[], now: number): Crash => ({ earlierCrashes, now, everReady: true });
const capped: RestartPolicy = { ...DEFAULT_RESTART_POLICY, maxCrashes: 10, maxDelayMs: 5000 };

test.each<[string, Crash, RestartPolicy, RestartDecision]>([
  ["first crash: restart after 1 s", ready([], T), DEFAULT_RESTART_POLICY, { action: "restart", reason: "crashed", delayMs: 1000, recentCrashes: [T] }],
  ["second crash within 60 s: the delay doubles to 2 s", ready([T - 5000], T), DEFAULT_RESTART_POLICY, { action: "restart", reason: "crashed", delayMs: 2000, recentCrashes: [T - 5000, T] }],
  ["fourth crash within 60 s: 8 s", ready([T - 30_000, T - 20_000, T - 10_000], T), DEFAULT_RESTART_POLICY, { action: "restart", reason: "crashed", delayMs: 8000, recentCrashes: [T - 30_000, T - 20_000, T - 10_000, T] }],
  ["fifth crash within 60 s: a crash loop, the stack stops", ready([T - 59_999, T - 20_000, T - 10_000, T - 5000], T), DEFAULT_RESTART_POLICY, { action: "give-up", reason: "crash-loop", recentCrashes: [T - 59_999, T - 20_000, T - 10_000, T - 5000, T] }],
  ["fifth crash, the first exactly 60 s ago: it has left the window, restart after 8 s", ready([T - 60_000, T - 20_000, T - 10_000, T - 5000], T), DEFAULT_RESTART_POLICY, { action: "restart", reason: "crashed", delayMs: 8000, recentCrashes: [T - 20_000, T - 10_000, T - 5000, T] }],
  ["a crash every 20 s is never a loop (at most 3 in a window)", ready([T - 60_000, T - 40_000, T - 20_000], T), DEFAULT_RESTART_POLICY, { action: "restart", reason: "crashed", delayMs: 4000, recentCrashes: [T - 40_000, T - 20_000, T] }],
  ["crashes long ago are forgotten: 1 s again", ready([T - 600_000, T - 500_000], T), DEFAULT_RESTART_POLICY, { action: "restart", reason: "crashed", delayMs: 1000, recentCrashes: [T] }],
  ["the delay stops at maxDelayMs", ready([T - 4, T - 3, T - 2, T - 1], T), capped, { action: "restart", reason: "crashed", delayMs: 5000, recentCrashes: [T - 4, T - 3, T - 2, T - 1, T] }],
  ["exited before it ever listened: misconfigured, the stack stops at once", { earlierCrashes: [], now: T, everReady: false }, DEFAULT_RESTART_POLICY, { action: "give-up", reason: "never-ready", recentCrashes: [T] }],
])("decideRestart: %s", (_, crash, policy, expected) => {
  expect(decideRestart(crash, policy)).toEqual(expected);
});
