import { seededRandom } from "../support/seeded-random.js";
import { DELETE_SHARE, faultList, FAULTS_FROM, FAULTS_TO, planRollout, scheduleFaults, UPDATE_SHARE, type Op } from "./plan.js";

describe("planRollout", () => {
  const rnd = seededRandom("chaos plan");
  const windowMs = 60_000;
  const plan = planRollout(200, windowMs, rnd);
  const byCluster = new Map<number, Op[]>();
  for (const op of plan.ops) byCluster.set(op.cluster, [...(byCluster.get(op.cluster) ?? []), op]);

  test("every cluster is created exactly once, first, within the first 60 % of the window", () => {
    expect(byCluster.size).toBe(200);
    for (const [i, ops] of byCluster) {
      expect({ i, kinds: ops.filter((o) => o.kind === "create").length, first: ops[0].kind }).toEqual({ i, kinds: 1, first: "create" });
      expect(ops[0].at).toBeLessThan(windowMs * 0.6);
    }
  });

  test("a cluster's operations are in time order, a delete is its last, and all fall inside the window", () => {
    for (const ops of byCluster.values()) {
      for (let k = 1; k < ops.length; k++) expect(ops[k].at).toBeGreaterThanOrEqual(ops[k - 1].at);
      const d = ops.findIndex((o) => o.kind === "delete");
      if (d >= 0) expect(d).toBe(ops.length - 1);
    }
    expect(plan.ops.every((o) => o.at >= 0 && o.at < windowMs)).toBe(true);
    expect(plan.ops.map((o) => o.at)).toEqual([...plan.ops.map((o) => o.at)].sort((a, b) => a - b));
  });

  test("about the planned shares are updated (some twice) and deleted; the deleted set matches the deletes", () => {
    const updated = [...byCluster.values()].filter((ops) => ops.some((o) => o.kind === "update")).length;
    const twice = [...byCluster.values()].filter((ops) => ops.filter((o) => o.kind === "update").length === 2).length;
    const deletes = plan.ops.filter((o) => o.kind === "delete").map((o) => o.cluster);
    expect(updated / 200).toBeGreaterThan(UPDATE_SHARE - 0.15);
    expect(updated / 200).toBeLessThan(UPDATE_SHARE + 0.15);
    expect(twice).toBeGreaterThan(0);
    expect(deletes.length / 200).toBeGreaterThan(DELETE_SHARE - 0.15);
    expect(deletes.length / 200).toBeLessThan(DELETE_SHARE + 0.15);
    expect(new Set(deletes)).toEqual(plan.deleted);
  });

  test("the same seed plans the same rollout", () => {
    const a = planRollout(50, 30_000, seededRandom("chaos plan a", 7));
    const b = planRollout(50, 30_000, seededRandom("chaos plan b", 7));
    expect(a).toEqual(b);
  });
});

describe("scheduleFaults", () => {
  test.each([
    { faults: 8, windowMs: 60_000, first: 6000, last: 48_000 },
    { faults: 2, windowMs: 10_000, first: 1000, last: 8000 },
    { faults: 1, windowMs: 10_000, first: 1000, last: 1000 },
  ])("$faults faults over $windowMs ms: evenly from $first to $last, in the given order", ({ faults, windowMs, first, last }) => {
    const s = scheduleFaults(Array.from({ length: faults }, (_, i) => i), windowMs);
    expect(s.map((x) => x.fault)).toEqual(Array.from({ length: faults }, (_, i) => i));
    expect(s[0].at).toBe(first);
    expect(s[s.length - 1].at).toBe(last);
    const gaps = s.slice(1).map((x, i) => x.at - s[i].at);
    if (gaps.length) expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThanOrEqual(1);
  });

  test("no faults, no schedule", () => {
    expect(scheduleFaults([], 60_000)).toEqual([]);
  });

  test("faults strike within the window's 10-80 %", () => {
    expect(FAULTS_FROM).toBeGreaterThan(0);
    expect(FAULTS_TO).toBeLessThan(1);
  });
});

test("the fault list kills each adapter, the API and the cluster Sentinel once, and restarts Postgres and the broker, never two heavy faults in a row", () => {
  const faults = faultList("RabbitMQ");
  expect(faults.filter((f) => f.kind === "kill").map((f) => f.service).sort()).toEqual(["api", "dns", "nodepool", "placement", "sentinel", "validation"]);
  expect(faults.filter((f) => f.kind !== "kill").map((f) => f.kind).sort()).toEqual(["broker", "postgres"]);
  const heavy = faults.map((f) => f.kind !== "kill" || f.service === "api");
  expect(heavy.some((h, i) => h && heavy[i + 1])).toBe(false);
  expect(faults.find((f) => f.kind === "broker")?.label).toContain("RabbitMQ");
});
