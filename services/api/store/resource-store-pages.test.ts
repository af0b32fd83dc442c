/**
 * What bounds a list page against real Postgres: the STATUS view (no spec, labels or conditions
 * read at all), a byte budget as well as a row count, one count per listing, and a time limit.
 */
import { toBinary } from "@bufbuild/protobuf";
import { ClusterSchema } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { compileFilter } from "../core/filter.js";
import { CLUSTER_FILTER } from "../cluster-service.js";
import { createClusterStore, createNodePoolStore } from "./cluster-store.js";
import type { Knex } from "./db.js";
import { PAGE_BYTES } from "./resource-store.js";
import { migratedDatabase } from "../../../test/support/store-db.js";
import { eventually } from "../../../test/support/brokers.js";

const REQUIRED = { clusters: ["validation"], nodepools: ["nodepool"] };
let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await migratedDatabase());
});
afterAll(() => drop());

let n = 0;
/** A cluster in `group` (a label) with a spec of about `specBytes` of JSON, created directly in the store as an old API would have let it be. */
async function cluster(group: string, specBytes = 10) {
  const store = createClusterStore(db, REQUIRED);
  return store.create({ id: crypto.randomUUID(), name: `c-${group}-${n++}`, labels: { group }, spec: { blob: "x".repeat(specBytes) }, actor: "test" }, new Date());
}
const inGroup = (group: string) => compileFilter(`labels.group = '${group}'`, CLUSTER_FILTER);

/** The SQL of every statement `fn` runs. */
async function statementsOf<T>(fn: () => Promise<T>): Promise<{ value: T; sql: string[] }> {
  const sql: string[] = [];
  const listen = (q: { sql: string }) => sql.push(q.sql);
  db.on("query", listen);
  try {
    return { value: await fn(), sql };
  } finally {
    db.off("query", listen);
  }
}

test("the STATUS view returns no spec, labels or conditions, and its statements never read them", async () => {
  const c = await cluster("status-view", 100_000);
  const store = createClusterStore(db, REQUIRED);
  const basic = await store.list({ where: inGroup("status-view"), pageSize: 10, showDeleted: false });
  expect(basic.items[0].spec).toEqual({ blob: "x".repeat(100_000) });
  expect(basic.items[0].status?.conditions.length).toBeGreaterThan(0);

  const { value: page, sql } = await statementsOf(() => store.list({ where: inGroup("status-view"), pageSize: 10, showDeleted: false, view: "status" }));
  const [item] = page.items;
  expect(item).toMatchObject({ id: c.id, name: c.name, generation: 1n, spec: undefined, labels: {}, href: c.href, createdBy: "test" });
  expect(item.status).toMatchObject({ phase: c.status!.phase, observedGeneration: 0n, conditions: [] });
  expect(item.status?.lastUpdatedTime).toEqual(c.status?.lastUpdatedTime);
  // Postgres is never asked for them, so a large spec costs this view nothing.
  const selects = sql.filter((s) => /^(with|select)/i.test(s) && !s.includes("set_config"));
  expect(selects.length).toBeGreaterThan(0);
  for (const s of selects) expect(s).not.toMatch(/\bspec\b|status_conditions|\.\*|\bselect \*[^)]*from "clusters"/);

  const got = await store.get(c.id, "status");
  expect(got).toMatchObject({ id: c.id, spec: undefined, labels: {}, generation: 1n });
  expect(got.status?.conditions).toEqual([]);
});

test("the STATUS view of a nodepool keeps its cluster_id and href", async () => {
  const c = await cluster("np-status");
  const nodepools = createNodePoolStore(db, REQUIRED);
  const np = await nodepools.create({ id: crypto.randomUUID(), clusterId: c.id, name: "np-a", labels: { k: "v" }, spec: { a: 1 }, actor: "test" }, new Date());
  const page = await nodepools.list({ where: compileFilter("", CLUSTER_FILTER), pageSize: 10, showDeleted: false, clusterId: c.id, view: "status" });
  expect(page.items).toHaveLength(1);
  expect(page.items[0]).toMatchObject({ id: np.id, clusterId: c.id, href: np.href, spec: undefined, labels: {} });
  expect(await nodepools.get(np.id, "status")).toMatchObject({ clusterId: c.id, href: np.href, spec: undefined });
});

test("pages stop at the byte budget (a row larger than it comes alone), and paging still reaches every row once", async () => {
  // Specs of 700 KB: three pass 2 MiB. One of 3 MB: more than a whole page's budget on its own.
  const sizes = [10, 700_000, 700_000, 10, 700_000, 3_000_000, 10, 700_000, 10, 10];
  const ids: string[] = [];
  for (const size of sizes) ids.push((await cluster("bytes", size)).id);
  const store = createClusterStore(db, REQUIRED);
  const pages: { ids: string[]; bytes: number }[] = [];
  let afterId: string | undefined;
  do {
    const page = await store.list({ where: inGroup("bytes"), pageSize: 1000, afterId, showDeleted: false });
    pages.push({ ids: page.items.map((c) => c.id), bytes: page.items.reduce((sum, c) => sum + JSON.stringify(c.spec).length, 0) });
    afterId = page.nextAfterId;
  } while (afterId);
  // Ids here are random (v4): pages come in id order.
  const inOrder = [...ids].sort();
  expect(pages.flatMap((p) => p.ids)).toEqual(inOrder);
  expect(pages.length).toBeGreaterThan(2);
  for (const p of pages) {
    expect(p.ids.length).toBeGreaterThan(0);
    if (p.ids.length > 1) expect(p.bytes).toBeLessThanOrEqual(PAGE_BYTES);
  }
  expect(pages.find((p) => p.ids.includes(ids[5]))?.ids).toEqual([ids[5]]);
  // The STATUS view has no spec to weigh: one page.
  const status = await store.list({ where: inGroup("bytes"), pageSize: 1000, showDeleted: false, view: "status" });
  expect(status.items.map((c) => c.id)).toEqual(inOrder);
  expect(status.nextAfterId).toBeUndefined();
});

test("specs of numbers (6 times larger as binary protobuf than as JSON): pages fit the budget in binary too", async () => {
  // 60 KB of JSON each, within today's input limits, and about 330 KB as gRPC sends it.
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    const c = await createClusterStore(db, REQUIRED).create({ id: crypto.randomUUID(), name: `num-${i}`, labels: { group: "numbers" }, spec: { n: Array.from({ length: 30_000 }, () => 1) }, actor: "test" }, new Date());
    ids.push(c.id);
  }
  const store = createClusterStore(db, REQUIRED);
  const seen: string[] = [];
  let afterId: string | undefined;
  let pages = 0;
  do {
    const page = await store.list({ where: inGroup("numbers"), pageSize: 1000, afterId, showDeleted: false });
    const binary = page.items.reduce((sum, c) => sum + toBinary(ClusterSchema, c).length, 0);
    if (page.items.length > 1) expect(binary).toBeLessThanOrEqual(PAGE_BYTES);
    seen.push(...page.items.map((c) => c.id));
    afterId = page.nextAfterId;
    pages++;
  } while (afterId);
  expect(seen).toEqual([...ids].sort());
  expect(pages).toBeGreaterThan(2);
});

test("a smaller budget cuts every plan's pages alike", async () => {
  for (let i = 0; i < 9; i++) await cluster("small-budget", 3_000);
  const where = inGroup("small-budget");
  const walk = async (materializeBelow: number) => {
    // About 4.5 KB a row (3 KB of spec, the conditions, 1 KB for the rest): three to a 15 KB page.
    const store = createClusterStore(db, REQUIRED, { materializeBelow, pageBytes: 15_000 });
    const out: number[] = [];
    let afterId: string | undefined;
    do {
      const page = await store.list({ where, pageSize: 5, afterId, showDeleted: false });
      out.push(page.items.length);
      afterId = page.nextAfterId;
    } while (afterId);
    return out;
  };
  for (const threshold of [1_000_000, 0, 5]) expect(await walk(threshold)).toEqual([3, 3, 3]);
});

test("the total is counted on the first page only: later pages run no count", async () => {
  for (let i = 0; i < 6; i++) await cluster("count-once");
  // 0: the plans that count every match (the one-statement plan counts too, only up to its cap).
  for (const materializeBelow of [0, 1_000_000]) {
    const store = createClusterStore(db, REQUIRED, { materializeBelow });
    const first = await statementsOf(() => store.list({ where: inGroup("count-once"), pageSize: 2, showDeleted: false }));
    expect(first.value.total).toBe(6);
    expect(first.sql.some((s) => /count\(\*\)(?! over)/.test(s))).toBe(true);
    const second = await statementsOf(() => store.list({ where: inGroup("count-once"), pageSize: 2, afterId: first.value.nextAfterId, showDeleted: false }));
    expect(second.value.items).toHaveLength(2);
    expect(second.value.total).toBeUndefined();
    expect(second.sql.filter((s) => /count\(\*\)(?! over)/.test(s))).toEqual([]);
  }
});

test("a list that runs past its time limit is cancelled and answered Unavailable, well before the database's own 10 s", async () => {
  await cluster("timeout");
  const store = createClusterStore(db, REQUIRED, { listTimeoutMs: 200 });
  // A writer holding the table makes the list wait: a stand-in for a filter that takes too long.
  const holder = await db.transaction();
  try {
    await holder.raw("lock table clusters in access exclusive mode");
    const started = Date.now();
    const err = await store.list({ where: inGroup("timeout"), pageSize: 10, showDeleted: false }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.name).toBe("UnavailableError");
    expect(err?.message).toMatch(/took longer than 200 ms.*narrow the filter/);
    expect(err?.message).not.toMatch(/select|clusters/i);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Cancelled in Postgres too, not just abandoned: while the lock is still held, nothing of the list runs there.
    const running = async () => Number((await db.raw("select count(*) as n from pg_stat_activity where query like '%hf_candidates%' and state <> 'idle' and pid <> pg_backend_pid()")).rows[0].n);
    await eventually(async () => ((await running()) === 0 ? true : undefined), 5_000);
  } finally {
    await holder.rollback();
  }
  expect((await store.list({ where: inGroup("timeout"), pageSize: 10, showDeleted: false })).items).toHaveLength(1);
});
