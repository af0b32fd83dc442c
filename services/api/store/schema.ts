/**
 * The database schema's version and its migrations, run apart from the API's requests: no statement
 * timeout (a migration may rewrite a whole table), one migrator at a time (a Postgres advisory lock),
 * and a check the API makes at startup so that it never serves a schema older than its code.
 */
import knexModule from "knex";
import type { Knex } from "knex";
import pg from "pg";
import { migrationSource } from "./migrations/index.js";

const knex = knexModule.knex ?? (knexModule as unknown as typeof knexModule.knex);

/** knex's own bookkeeping table: one row per applied migration. */
const MIGRATIONS_TABLE = "knex_migrations";

/**
 * The session-level advisory lock every migrator holds while it migrates ("HFMIGRAT" as a number):
 * a second migrator waits for the first, then finds nothing left to do. (knex's own lock, a row in
 * knex_migrations_lock, makes the second fail at once instead of waiting.)
 */
export const MIGRATION_LOCK_KEY = "5207934996225081684";

/** Which of this code's migrations the database has, and which it lacks. */
export interface SchemaState {
  /** Applied migrations, in name order. */
  applied: string[];
  /** This code's migrations not applied yet: the schema is behind when there is any. */
  pending: string[];
  /** Applied migrations this code does not know: a newer release migrated the database (its normal state during a rollout). */
  unknown: string[];
}

/** The names of the migrations compiled into this code, in the order they apply. */
export async function knownMigrations(): Promise<string[]> {
  return migrationSource.getMigrations([]);
}

/** The state of a database whose applied migrations are `applied` (pure). */
export function schemaStateOf(applied: readonly string[], known: readonly string[]): SchemaState {
  const have = new Set(applied);
  const knows = new Set(known);
  return { applied: [...applied].sort(), pending: known.filter((m) => !have.has(m)), unknown: [...applied].filter((m) => !knows.has(m)).sort() };
}

/** Reads which migrations the database has (one small query, on any of the API's connections). */
export async function readSchemaState(db: Knex): Promise<SchemaState> {
  const { rows } = await db.raw<{ rows: { present: boolean }[] }>("select to_regclass(?) is not null as present", [MIGRATIONS_TABLE]);
  const applied = rows[0].present ? (await db.raw<{ rows: { name: string }[] }>(`select name from ${MIGRATIONS_TABLE}`)).rows.map((r) => r.name) : [];
  return schemaStateOf(applied, await knownMigrations());
}

/** The API will not serve a schema older than its code; the message says what to run. */
export class SchemaBehindError extends Error {
  constructor(readonly state: SchemaState) {
    super(
      `the database schema is behind this API: ${state.pending.length} migration(s) not applied (${state.pending.join(", ")}). ` +
        "Run `npm run migrate` with the same DATABASE_URL (it runs without the statement timeout, one migrator at a time), then start the API; " +
        "or set MIGRATE_ON_START=true to have the API migrate at startup. See docs/running.md, \"Upgrading\".",
    );
    this.name = "SchemaBehindError";
  }
}

/** What the migrator tells its caller as it goes. */
export interface MigrateLog {
  info(obj: object, msg: string): void;
}

/** Where and how the migrator runs. */
export interface MigrateOptions {
  /** Bound on each connection attempt (default 3 s). */
  connectTimeoutMs?: number;
  log?: MigrateLog;
  /**
   * Migrate on this knex instance instead of connections of its own, and without the lock: for the
   * embedded PGlite, which takes one connection and whose files one process owns.
   */
  via?: Knex;
}

/**
 * Applies every pending migration and returns their names (empty when there was nothing to do).
 * Runs on connections of its own with no statement timeout (whatever the server's or the role's
 * default), holding MIGRATION_LOCK_KEY: a second migrator (another `npm run migrate`, or an API
 * replica migrating at startup) waits for the first, then finds nothing to do. Each migration runs in
 * its own transaction (knex's default), so a failed one leaves the schema at the one before.
 */
export async function migrateDatabase(url: string, opts: MigrateOptions = {}): Promise<string[]> {
  const log = opts.log;
  const latest = async (db: Knex) => ((await db.migrate.latest({ migrationSource: timed(log) })) as [number, string[]])[1];
  if (opts.via) return latest(opts.via);
  const connection = { connectionString: url, connectionTimeoutMillis: opts.connectTimeoutMs ?? 3_000, keepAlive: true, application_name: MIGRATOR, options: "-c statement_timeout=0" };
  const lock = new pg.Client(connection);
  try {
    await lock.connect();
    const { rows } = await lock.query<{ got: boolean }>("select pg_try_advisory_lock($1::bigint) as got", [MIGRATION_LOCK_KEY]);
    if (!rows[0].got) {
      log?.info({}, "another migrator holds the migration lock: waiting for it to finish");
      await lock.query("select pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
    }
    if (await freeStaleKnexLock(lock)) log?.info({}, "cleared the lock a migrator killed midway had left set");
    const db = knex({ client: "pg", connection, pool: { min: 0, max: 1 } });
    try {
      return await latest(db);
    } finally {
      await db.destroy();
    }
  } finally {
    // Closing the session releases the advisory lock.
    await lock.end().catch(() => undefined);
  }
}

/** The application_name of every migrator connection. */
const MIGRATOR = "hyperfleet-migrate";

/**
 * knex's own lock row, left set by a migrator killed midway, would fail every later run ("Migration
 * table is already locked") until someone cleared it by hand. Holding the advisory lock, with no other
 * migrator connected to this database, it is stale: cleared. Returns whether it was set.
 */
async function freeStaleKnexLock(lock: pg.Client): Promise<boolean> {
  const { rows } = await lock.query<{ others: number; present: boolean }>(
    "select (select count(*)::int from pg_stat_activity where application_name = $1 and datname = current_database() and pid <> pg_backend_pid()) as others, to_regclass($2) is not null as present",
    [MIGRATOR, `${MIGRATIONS_TABLE}_lock`],
  );
  if (rows[0].others > 0 || !rows[0].present) return false;
  return ((await lock.query(`update ${MIGRATIONS_TABLE}_lock set is_locked = 0 where is_locked = 1`)).rowCount ?? 0) > 0;
}

/** The migration source, logging each migration with how long it took. */
function timed(log: MigrateLog | undefined): Knex.MigrationSource<string> {
  if (!log) return migrationSource;
  return {
    ...migrationSource,
    async getMigration(name) {
      const m = await migrationSource.getMigration(name);
      return {
        ...m,
        async up(db: Knex) {
          const start = performance.now();
          log.info({ migration: name }, "applying migration");
          await m.up(db);
          log.info({ migration: name, seconds: Math.round(performance.now() - start) / 1000 }, "migration applied");
        },
      };
    },
  };
}
