import { defaultWindowMs, parseChaosArgs, report, UsageError } from "./run.js";
import { renderTable } from "./table.js";

describe("npm run chaos flags", () => {
  test.each([
    { argv: [], env: {}, want: { clusters: 200, brokers: ["pubsub", "rabbitmq"], windowMs: 67_000, convergeTimeoutMs: 120_000, recoveryBoundMs: 30_000, rssBudgetMb: 250, seed: undefined } },
    { argv: ["--clusters", "40", "--broker", "rabbitmq"], env: {}, want: { clusters: 40, brokers: ["rabbitmq"], windowMs: 60_000 } },
    { argv: ["--clusters=40", "--window=45", "--seed=9"], env: {}, want: { clusters: 40, windowMs: 45_000, seed: 9 } },
    { argv: [], env: { CHAOS_CLUSTERS: "30", CHAOS_BROKER: "pubsub", TEST_SEED: "12" }, want: { clusters: 30, brokers: ["pubsub"], seed: 12 } },
    { argv: ["--clusters", "10"], env: { CHAOS_CLUSTERS: "30" }, want: { clusters: 10 } },
    { argv: ["--converge", "60", "--recovery", "20", "--rss-budget", "300"], env: {}, want: { convergeTimeoutMs: 60_000, recoveryBoundMs: 20_000, rssBudgetMb: 300 } },
  ])("$argv $env", ({ argv, env, want }) => {
    expect(parseChaosArgs(argv, env)).toMatchObject(want);
  });

  test.each([
    { argv: ["--clusters", "0"], message: "--clusters must be a positive integer" },
    { argv: ["--clusters", "many"], message: "--clusters must be a positive integer" },
    { argv: ["--broker", "kafka"], message: "--broker must be pubsub, rabbitmq or both" },
    { argv: ["--speed", "2"], message: "unknown flag --speed" },
    { argv: ["--clusters"], message: "--clusters needs a value" },
    { argv: ["200"], message: "unexpected argument 200" },
    { argv: ["--help"], message: "usage: npm run chaos" },
  ])("refuses $argv", ({ argv, message }) => {
    expect(() => parseChaosArgs(argv, {})).toThrow(UsageError);
    expect(() => parseChaosArgs(argv, {})).toThrow(message);
  });

  test.each([
    { clusters: 20, ms: 60_000 },
    { clusters: 200, ms: 67_000 },
    { clusters: 1000, ms: 334_000 },
  ])("the window for $clusters clusters is $ms ms", ({ clusters, ms }) => {
    expect(defaultWindowMs(clusters)).toBe(ms);
  });
});

test("a table aligns its columns, numbers to the right", () => {
  expect(renderTable([{ name: "api", "at s": "6.5", n: 3 }, { name: "placement", "at s": "12.0", n: 10 }])).toBe(
    ["name       at s   n", "---------  ----  --", "api         6.5   3", "placement  12.0  10"].join("\n"),
  );
});

test("a report shows the faults, the invariants, and says which failed", () => {
  const text = report({
    broker: "rabbitmq",
    clusters: 10,
    seed: 1,
    totalMs: 90_000,
    convergedAfterMs: 4200,
    diagnosis: "",
    stackLog: "",
    ok: false,
    faults: [
      { label: "kill -9 API", at: 6500, outageMs: 0, recoveredMs: 2100, criterion: "new process healthy, a report stored" },
      { label: "restart broker (RabbitMQ)", at: 20_000, outageMs: 3000, criterion: "every adapter consuming", error: "still waiting for dns" },
    ],
    checks: [
      { name: "no orphaned Kubernetes object", ok: true, detail: "12 objects" },
      { name: "no acknowledged report lost", ok: false, detail: "1: x" },
    ],
  });
  expect(text).toContain("Chaos on rabbitmq: 10 clusters, seed 1, 90 s in all, the fleet converged 4.2 s after the rollout");
  expect(text).toMatch(/kill -9 API\s+6\.5\s+-\s+2\.1\s+new process healthy/);
  expect(text).toMatch(/restart broker \(RabbitMQ\)\s+20\.0\s+3\.0\s+NOT RECOVERED \(still waiting for dns\)/);
  expect(text).toMatch(/no orphaned Kubernetes object\s+pass\s+12 objects/);
  expect(text).toMatch(/no acknowledged report lost\s+FAIL\s+1: x/);
  expect(text).toContain("rabbitmq: 1 invariant(s) FAILED");
});
