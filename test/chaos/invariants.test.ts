import {
  checkAcked,
  checkBudget,
  checkDeletedGone,
  checkLiveReady,
  checkOrphans,
  checkRecovered,
  checkValidationJobs,
  checkWritesInEffect,
  createRowTracker,
  firstFew,
  type ClusterView,
  type Expected,
  type KubeObjectSeen,
} from "./invariants.js";

const view = (id: string, over: Partial<ClusterView> = {}): ClusterView => ({ id, name: `c-${id}`, generation: 2, observedGeneration: 2, phase: "Ready", deleting: false, spec: '{"rev":1}', ...over });
const exp = (id: string, over: Partial<Expected> = {}): Expected => ({ id, name: `c-${id}`, spec: '{"rev":1}', deleted: false, ...over });
const fleet = (...views: ClusterView[]) => new Map(views.map((v) => [v.id, v]));

describe("cluster invariants", () => {
  test.each([
    { title: "all Ready at their generation", actual: [view("a"), view("b")], ok: true, detail: "2 clusters" },
    { title: "one NotReady", actual: [view("a"), view("b", { phase: "NotReady", observedGeneration: 1 })], ok: false, detail: "1 of 2: c-b NotReady observed 1 of generation 2" },
    { title: "Ready but behind its generation", actual: [view("a", { observedGeneration: 1 }), view("b")], ok: false, detail: "1 of 2: c-a Ready observed 1 of generation 2" },
    { title: "one missing", actual: [view("a")], ok: false, detail: "1 of 2: c-b missing" },
  ])("live Ready: $title", ({ actual, ok, detail }) => {
    expect(checkLiveReady([exp("a"), exp("b"), exp("gone", { deleted: true })], fleet(...actual))).toMatchObject({ ok, detail });
  });

  test.each([
    { title: "deleted clusters gone", actual: [view("a")], ok: true },
    { title: "a deleted cluster still there", actual: [view("a"), view("d", { deleting: true, phase: "NotReady", generation: 3 })], ok: false },
  ])("deleted gone: $title", ({ actual, ok }) => {
    const c = checkDeletedGone([exp("a"), exp("d", { deleted: true })], fleet(...actual));
    expect(c.ok).toBe(ok);
    if (!ok) expect(c.detail).toBe("1 of 1: c-d still there (NotReady, generation 3)");
  });

  test.each([
    { title: "specs as last sent", actual: [view("a")], ok: true },
    { title: "an update lost", actual: [view("a", { spec: '{"rev":0}' })], ok: false },
    { title: "deleting though never deleted", actual: [view("a", { deleting: true })], ok: false },
  ])("writes in effect: $title", ({ actual, ok }) => {
    expect(checkWritesInEffect([exp("a")], fleet(...actual)).ok).toBe(ok);
  });
});

const job = (clusterId: string, generation: number, uid: string): KubeObjectSeen => ({ kind: "Job", name: `validation-${clusterId}-gen${generation}`, uid, clusterId, adapter: "validation", generation });

describe("validation Jobs", () => {
  const live = new Map([["a", { name: "c-a", generation: 2 }]]);
  test.each([
    { title: "one per generation, one for the current", seen: [job("a", 1, "u1"), job("a", 2, "u2"), job("a", 2, "u2")], final: [job("a", 1, "u1"), job("a", 2, "u2")], ok: true, detail: "2 (cluster, generation) pairs, 1 live clusters" },
    { title: "a generation skipped is fine", seen: [job("a", 2, "u2")], final: [job("a", 2, "u2")], ok: true, detail: "1 (cluster, generation) pairs, 1 live clusters" },
    { title: "re-created under the same name (a second uid)", seen: [job("a", 2, "u2"), job("a", 2, "u3")], final: [job("a", 2, "u3")], ok: false, detail: "a/gen2: 2 Jobs created over the run" },
    { title: "none for the current generation", seen: [job("a", 1, "u1")], final: [job("a", 1, "u1")], ok: false, detail: "c-a: 0 Jobs for generation 2" },
    { title: "other adapters' Jobs do not count", seen: [job("a", 2, "u2"), { ...job("a", 2, "p1"), adapter: "placement", name: "placement-a" }], final: [job("a", 2, "u2")], ok: true, detail: "1 (cluster, generation) pairs, 1 live clusters" },
  ])("$title", ({ seen, final, ok, detail }) => {
    expect(checkValidationJobs(seen, final, live)).toMatchObject({ ok, detail });
  });
});

test.each([
  { title: "every object of a live cluster", objects: [job("a", 1, "u1")], ok: true },
  { title: "an object of a removed cluster", objects: [job("a", 1, "u1"), job("gone", 1, "u9")], ok: false },
  { title: "objects without the cluster label are not ours to judge", objects: [{ kind: "Job", name: "x", uid: "u" }], ok: true },
])("orphans: $title", ({ objects, ok }) => {
  const c = checkOrphans(objects, new Set(["a"]));
  expect(c.ok).toBe(ok);
  if (!ok) expect(c.detail).toBe("1: Job/validation-gone-gen1");
});

describe("row tracker", () => {
  const row = (generation: number, reportTime: number, resourceId = "r", adapter = "dns") => ({ resourceId, adapter, generation, reportTime });
  test.each([
    { title: "rows moving forward", samples: [[row(1, 10)], [row(1, 20)], [row(2, 25)], [row(2, 25)]], ok: true },
    { title: "a row that disappears (its cluster removed)", samples: [[row(1, 10)], []], ok: true },
    { title: "generation backwards", samples: [[row(2, 10)], [row(1, 20)]], ok: false },
    { title: "report time backwards at the same generation", samples: [[row(2, 20)], [row(2, 10)]], ok: false },
    { title: "report time backwards with a newer generation", samples: [[row(1, 20)], [row(2, 10)]], ok: false },
    { title: "backwards after a gap of samples without the row", samples: [[row(3, 30)], [], [row(2, 40)]], ok: false },
  ])("$title", ({ samples, ok }) => {
    const t = createRowTracker();
    samples.forEach((rows, i) => t.observe(rows, i * 1000));
    expect(t.check().ok).toBe(ok);
  });

  test("never sampled fails, saying so", () => {
    expect(createRowTracker().check()).toMatchObject({ ok: false, detail: "never sampled" });
  });

  test("a violation names the row and both samples", () => {
    const t = createRowTracker();
    t.observe([row(2, 10, "c1", "validation")], 1000);
    t.observe([row(1, 10, "c1", "validation")], 2000);
    expect(t.check().detail).toBe("1: c1/validation generation 2 → 1 (sampled at 1000 then 2000 ms)");
  });
});

describe("acknowledged reports", () => {
  const final = new Map([["a", { generation: 2, reportTime: 200 }]]);
  test.each([
    { title: "the final row is the last acknowledged", acked: [{ resourceId: "a", generation: 1, reportTime: 100 }, { resourceId: "a", generation: 2, reportTime: 200 }], recreated: [], ok: true },
    { title: "a report acknowledged but not answered later is newer than the last ack: fine", acked: [{ resourceId: "a", generation: 2, reportTime: 150 }], recreated: [], ok: true },
    { title: "the final row older than an acknowledged one", acked: [{ resourceId: "a", generation: 2, reportTime: 250 }], recreated: [], ok: false },
    { title: "an acknowledged generation lost", acked: [{ resourceId: "a", generation: 3, reportTime: 100 }], recreated: [], ok: false },
    { title: "no row at all", acked: [{ resourceId: "b", generation: 1, reportTime: 100 }], recreated: [], ok: false },
    { title: "a row Created again after an acknowledgement", acked: [{ resourceId: "a", generation: 2, reportTime: 200 }], recreated: ["c-a (a)"], ok: false },
    { title: "nothing acknowledged proves nothing", acked: [], recreated: [], ok: false },
  ])("$title", ({ acked, recreated, ok }) => {
    expect(checkAcked(acked, final, recreated).ok).toBe(ok);
  });
});

test.each<{ peaks: Record<string, number>; ok: boolean; detail: string }>([
  { peaks: { api: 120, dns: 210 }, ok: true, detail: "highest: dns 210, api 120 MB" },
  { peaks: { api: 120, dns: 250 }, ok: false, detail: "over: dns 250 MB" },
  { peaks: {}, ok: false, detail: "no process sampled" },
])("budget $peaks", ({ peaks, ok, detail }) => {
  expect(checkBudget(peaks, 250)).toMatchObject({ ok, detail });
});

test.each([
  { faults: [{ label: "kill -9 dns", at: 1000, outageMs: 0, recoveredMs: 4000, criterion: "" }], ok: true },
  { faults: [{ label: "kill -9 dns", at: 1000, outageMs: 0, recoveredMs: 31_000, criterion: "" }], ok: false },
  { faults: [{ label: "restart broker", at: 1000, outageMs: 3000, criterion: "", error: "still waiting for dns" }], ok: false },
])("recovery $faults.0.label", ({ faults, ok }) => {
  expect(checkRecovered(faults, 30_000).ok).toBe(ok);
});

test("firstFew names at most n, then counts the rest", () => {
  expect(firstFew(["a", "b"], 3)).toBe("a; b");
  expect(firstFew(["a", "b", "c", "d"], 2)).toBe("a; b; and 2 more");
});
