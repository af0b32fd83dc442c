/**
 * Migrations run apart from the API's requests: `npm run migrate` (or MIGRATE_ON_START) without the
 * statement timeout and one migrator at a time; the API checks the schema at startup and will not
 * serve one that is behind it.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import knexModule from "knex";
import pg from "pg";
import { createTempDatabase, type TempDatabase } from "../../test/support/temp-database.js";
import { eventually } from "../../test/support/brokers.js";
import { silentLogger } from "../shared/log.js";
import { loadConfig } from "./config.js";
import { openDatabase } from "./database.js";
import { migrationSource } from "./store/migrations/index.js";
import { knownMigrations, migrateDatabase, MIGRATION_LOCK_KEY, readSchemaState, SchemaBehindError, schemaStateOf } from "./store/schema.js";

const knex = knexModule.knex ?? (knexModule as unknown as typeof knexModule.knex);
const run = promisify(execFile);

const temps: TempDatabase[] = [];
async function tempDatabase(): Promise<TempDatabase> {
  const t = await createTempDatabase("hf_migrate");
  temps.push(t);
  return t;
}
afterAll(async () => {
  for (const t of temps) await t.drop();
});

/** Applies this code's migrations up to and including `last`, as an older release would have. */
async function migrateUpTo(url: string, last: string): Promise<void> {
  const db = knex({ client: "pg", connection: url, pool: { min: 0, max: 1 } });
  try {
    await db.migrate.latest({ migrationSource: { ...migrationSource, getMigrations: async () => (await migrationSource.getMigrations([])).filter((m) => m <= last) } });
  } finally {
    await db.destroy();
  }
}

/** openDatabase as main.ts calls it; resolves to the error it failed with, or closes what it opened. */
async function startupError(env: Record<string, string>): Promise<unknown> {
  try {
    const { db } = await openDatabase(loadConfig({ AUTH: "none", ...env }), silentLogger());
    await db.destroy();
    return undefined;
  } catch (err) {
    return err;
  }
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

test("schemaStateOf: pending are this code's migrations not applied; unknown are applied ones it does not know", () => {
  expect(schemaStateOf(["0002", "0001"], ["0001", "0002", "0003"])).toEqual({ applied: ["0001", "0002"], pending: ["0003"], unknown: [] });
  expect(schemaStateOf(["0001", "0002", "0009_newer"], ["0001", "0002"])).toEqual({ applied: ["0001", "0002", "0009_newer"], pending: [], unknown: ["0009_newer"] });
  expect(schemaStateOf([], ["0001"])).toEqual({ applied: [], pending: ["0001"], unknown: [] });
});

test(
  "100,000 clusters at migration 0002: the API refuses to start, naming npm run migrate; told to migrate, it does so without the request statement timeout",
  async () => {
    const temp = await tempDatabase();
    await migrateUpTo(temp.url, "0002_nodepools");
    const seedStart = performance.now();
    await withClient(temp.url, (c) =>
      c.query(`
        insert into clusters (id, name, labels, spec, generation, observed_generation, last_transition_time, last_updated_time, created_time, updated_time, created_by, updated_by)
        select gen_random_uuid(), 'cluster-' || i,
               jsonb_build_object('shard', (i % 100)::text, 'env', (array['prod', 'dev', 'staging'])[1 + i % 3]),
               jsonb_build_object('region', 'us-east-1', 'version', '4.16'),
               1 + i % 2, 1, now(), now(), now(), now(), 'seed', 'seed'
        from generate_series(1, 100000) i`),
    );
    const seeded = Math.round(performance.now() - seedStart);

    // Behind, with data: no startup migration unless asked for, whether MIGRATE_ON_START is unset or false.
    for (const env of [{}, { MIGRATE_ON_START: "false" }] as Record<string, string>[]) {
      const err = await startupError({ DATABASE_URL: temp.url, ...env });
      expect(err).toBeInstanceOf(SchemaBehindError);
      expect((err as Error).message).toMatch(/npm run migrate/);
      expect((err as Error).message).toContain("0003_reconcile_pending, 0004_labels_gin_without_pending_list, 0005_change_feed");
    }
    expect((await withClient(temp.url, (c) => c.query("select count(*)::int as n from knex_migrations"))).rows[0].n).toBe(2);

    // A request statement timeout far below what 0003's rewrite of the table takes: before, the
    // migrations ran under it and the API never started.
    const start = performance.now();
    expect(await startupError({ DATABASE_URL: temp.url, MIGRATE_ON_START: "true", DB_STATEMENT_TIMEOUT: "300ms" })).toBeUndefined();
    const migrated = Math.round(performance.now() - start);
    console.log(`migrations 0003 and 0004 over 100,000 clusters: ${(migrated / 1000).toFixed(1)} s (seeding them took ${(seeded / 1000).toFixed(1)} s)`);

    const { rows } = await withClient(temp.url, (c) => c.query("select count(*) filter (where reconcile_pending)::int as pending, count(*)::int as n from clusters"));
    expect(rows[0]).toEqual({ pending: 50_000, n: 100_000 });
    // Up to date now: the API starts without being told to migrate.
    expect(await startupError({ DATABASE_URL: temp.url, MIGRATE_ON_START: "false" })).toBeUndefined();
  },
  180_000,
);

test("two migrators at once: the second waits for the first's lock, then finds nothing to do", async () => {
  const temp = await tempDatabase();
  const holder = new pg.Client({ connectionString: temp.url });
  await holder.connect();
  try {
    await holder.query("select pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
    const waited: string[] = [];
    const log = (who: string) => ({ info: (_: object, msg: string) => void (/waiting/.test(msg) && waited.push(who)) });
    const a = migrateDatabase(temp.url, { log: log("a") });
    const b = migrateDatabase(temp.url, { log: log("b") });
    // Both queue on the lock (what knex's own lock never does: the second would fail at once).
    await eventually(async () => ((await holder.query("select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted")).rows[0].n === 2 ? true : undefined), 20_000);
    await holder.query("select pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]);
    const results = await Promise.all([a, b]);
    expect(waited.sort()).toEqual(["a", "b"]);
    expect(results.map((r) => r.length).sort()).toEqual([0, (await knownMigrations()).length]);
    expect((await holder.query("select count(*)::int as n from knex_migrations")).rows[0].n).toBe((await knownMigrations()).length);
  } finally {
    await holder.end();
  }
});

test("a migrator killed midway left knex's lock row set: the next one clears it and migrates (before, every later run failed 'already locked')", async () => {
  const temp = await tempDatabase();
  await migrateUpTo(temp.url, "0002_nodepools");
  await withClient(temp.url, (c) => c.query("update knex_migrations_lock set is_locked = 1"));
  expect(await migrateDatabase(temp.url)).toEqual(["0003_reconcile_pending", "0004_labels_gin_without_pending_list", "0005_change_feed"]);
});

test("a new, empty database is migrated at startup unless MIGRATE_ON_START=false", async () => {
  const fresh = await tempDatabase();
  expect(await startupError({ DATABASE_URL: fresh.url, MIGRATE_ON_START: "false" })).toBeInstanceOf(SchemaBehindError);
  expect(await startupError({ DATABASE_URL: fresh.url })).toBeUndefined();
  const db = knex({ client: "pg", connection: fresh.url, pool: { min: 0, max: 1 } });
  try {
    expect((await readSchemaState(db)).pending).toEqual([]);
  } finally {
    await db.destroy();
  }
});

test("a schema ahead of the API (a newer release migrated it) is served", async () => {
  const temp = await tempDatabase();
  await migrateDatabase(temp.url);
  await withClient(temp.url, (c) => c.query("insert into knex_migrations (name, batch, migration_time) values ('9999_from_a_newer_release', 99, now())"));
  expect(await startupError({ DATABASE_URL: temp.url, MIGRATE_ON_START: "false" })).toBeUndefined();
  expect(await startupError({ DATABASE_URL: temp.url })).toBeUndefined();
});

test(
  "as processes: the API on a schema behind exits 1 naming npm run migrate; npm run migrate brings it up to date, and again finds nothing to do",
  async () => {
    const temp = await tempDatabase();
    await migrateUpTo(temp.url, "0002_nodepools");
    const env: NodeJS.ProcessEnv = { ...process.env, AUTH: "none", DATABASE_URL: temp.url, API_PORT: "0", API_METRICS_PORT: "0", LOG_LEVEL: "info" };
    delete env.MIGRATE_ON_START;
    const api = await run(process.execPath, ["--import", "tsx", "services/api/main.ts"], { env, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code?: number; stderr?: string }) => ({ code: err.code, stderr: err.stderr ?? "" }),
    );
    expect(api.code).toBe(1);
    expect(api.stderr).toMatch(/the database schema is behind this API: 3 migration\(s\) not applied .*`npm run migrate`/);

    // npm run migrate needs no auth settings (the API does): none in its environment.
    const migrateEnv = { ...env, AUTH: undefined };
    const first = await run(process.execPath, ["--import", "tsx", "services/api/migrate.ts"], { env: migrateEnv, timeout: 60_000 });
    expect(first.stdout).toMatch(/"applied":\["0003_reconcile_pending","0004_labels_gin_without_pending_list","0005_change_feed"\]/);
    const again = await run(process.execPath, ["--import", "tsx", "services/api/migrate.ts"], { env: migrateEnv, timeout: 60_000 });
    expect(again.stdout).toMatch(/nothing to migrate/);
  },
  120_000,
);
