/**
 * The list's plans against real Postgres: the same filter and pages whether the matches are found,
 * counted and paged in one statement or counted first and then collected and sorted (few) or found
 * by walking the primary key (many). The threshold is lowered here so every plan runs on a small fleet.
 */
import { compileFilter } from "../core/filter.js";
import { CLUSTER_FILTER } from "../cluster-service.js";
import { createClusterStore } from "./cluster-store.js";
import type { Knex } from "./db.js";
import { migratedDatabase } from "../../../test/support/store-db.js";

let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await migratedDatabase());
  const store = createClusterStore(db, { clusters: ["validation"], nodepools: ["nodepool"] });
  const now = new Date();
  for (let i = 0; i < 40; i++) {
    await store.create({ id: crypto.randomUUID(), name: `plan-${i}`, labels: { shard: String(i % 4), env: i % 2 ? "prod" : "dev" }, spec: {}, actor: "test" }, now);
  }
});
afterAll(() => drop());

/** Every page of a filtered list, by keyset, with the given threshold. */
async function pages(materializeBelow: number, filter: string, pageSize: number) {
  const store = createClusterStore(db, { clusters: ["validation"], nodepools: ["nodepool"] }, { materializeBelow });
  const where = compileFilter(filter, CLUSTER_FILTER);
  const out: { names: string[]; total?: number }[] = [];
  let afterId: string | undefined;
  do {
    const page = await store.list({ where, pageSize, afterId, showDeleted: false });
    out.push({ names: page.items.map((c) => c.name), total: page.total });
    afterId = page.nextAfterId;
  } while (afterId);
  return out;
}

test.each([
  ["a label filter", "labels.shard = '1'", 10, 3],
  ["two labels", "labels.shard = '1' and labels.env = 'prod'", 10, 4],
  ["no filter", "", 40, 7],
  ["nothing matches", "labels.shard = '9'", 0, 5],
  ["few enough for one statement, over pages", "name in ('plan-3', 'plan-17', 'plan-22', 'plan-30')", 4, 3],
  ["one page exactly", "name in ('plan-1', 'plan-2', 'plan-3', 'plan-4', 'plan-5')", 5, 5],
])("%s: both plans return the same pages and total", async (_, filter, matches, pageSize) => {
  const collected = await pages(1_000_000, filter, pageSize);
  const walked = await pages(0, filter, pageSize);
  // 5: the one-statement plan for filters matching at most 5, the two-step plans above that.
  const mixed = await pages(5, filter, pageSize);
  expect(walked).toEqual(collected);
  expect(mixed).toEqual(collected);
  expect(collected[0].total).toBe(matches);
  // Counted once per listing: later pages carry no total.
  expect(collected.slice(1).map((p) => p.total)).toEqual(collected.slice(1).map(() => undefined));
  const names = collected.flatMap((p) => p.names);
  expect(names).toHaveLength(matches);
  expect(new Set(names).size).toBe(matches);
});

test("reads prepared on a connection keep working after a migration adds a column (a rolling upgrade)", async () => {
  // One pooled connection, so the second read runs on the connection that prepared the first.
  const { createDb } = await import("./db.js");
  const url = db.client.config.connection.connectionString as string;
  const single = createDb({ url, poolMax: 1 });
  try {
    const store = createClusterStore(single, { clusters: ["validation"], nodepools: ["nodepool"] });
    const [first] = (await store.list({ where: compileFilter("", CLUSTER_FILTER), pageSize: 1, showDeleted: false })).items;
    expect((await store.get(first.id)).name).toBe(first.name);
    expect((await store.get(first.id, "full")).name).toBe(first.name);
    await db.raw("alter table clusters add column added_later int");
    try {
      expect((await store.get(first.id)).name).toBe(first.name);
      expect((await store.get(first.id, "full")).name).toBe(first.name);
    } finally {
      await db.raw("alter table clusters drop column added_later");
    }
  } finally {
    await single.destroy();
  }
});

test("gets made together are read together, each answered for its own id (any case, missing ones NotFound)", async () => {
  const store = createClusterStore(db, { clusters: ["validation"], nodepools: ["nodepool"] }, { readsInFlight: 1 });
  const { items } = await store.list({ where: compileFilter("", CLUSTER_FILTER), pageSize: 5, showDeleted: false });
  const missing = "00000000-0000-7000-8000-000000000000";
  const asked = [items[0].id, items[1].id.toUpperCase(), missing, items[2].id, items[0].id];
  const answers = await Promise.allSettled(asked.map((id, i) => store.get(id, i % 2 === 0 ? "full" : "basic")));
  expect(answers.map((a) => (a.status === "fulfilled" ? a.value.name : (a.reason as Error).name))).toEqual([items[0].name, items[1].name, "NotFoundError", items[2].name, items[0].name]);
  const full = answers[0].status === "fulfilled" ? answers[0].value : undefined;
  expect(full?.adapterStatuses).toEqual([]);
});
