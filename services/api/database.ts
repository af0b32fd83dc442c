import type { Logger } from "../shared/log.js";
import { createDb, type Knex } from "./store/db.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./store/embedded-postgres.js";
import { migrateDatabase, readSchemaState, SchemaBehindError } from "./store/schema.js";
import type { ApiConfig } from "./config.js";

/** Where the API's database is: DATABASE_URL, or the embedded one, which this starts. */
export async function locateDatabase(config: ApiConfig, log: Logger): Promise<{ url: string; embedded?: EmbeddedPostgres }> {
  if (config.databaseUrl !== undefined) return { url: config.databaseUrl };
  const embedded = await startEmbeddedPostgres(config.dataDir);
  log.info({ dataDir: config.dataDir }, "DATABASE_URL not set: using embedded Postgres (PGlite)");
  return { url: embedded.url, embedded };
}

/**
 * Connects to DATABASE_URL, or starts the embedded database, and checks that the schema is this
 * code's. A schema that is behind is migrated only when MIGRATE_ON_START says so or, when it is unset,
 * on the embedded database and on a database with no schema yet (nothing there to rewrite, so
 * `npm start` and a first deployment need no step of their own). Otherwise this throws
 * SchemaBehindError, which names `npm run migrate`: a migration that rewrites a large table must not
 * run under the request statement timeout, nor hold up an API's startup. A schema ahead of this code
 * (a newer release migrated it, as in a rollout) is served.
 *
 * Every write, status reports included, commits synchronously: an answered call survives a Postgres
 * crash. Reports share commits through the batcher (store/status-store.ts), not by skipping the flush.
 */
export async function openDatabase(config: ApiConfig, log: Logger): Promise<{ db: Knex; embedded?: EmbeddedPostgres }> {
  const { url, embedded } = await locateDatabase(config, log);
  const db = createDb({
    url,
    // PGlite serves one session.
    poolMax: embedded ? 1 : config.dbPoolMax,
    // Never on PGlite, whose one session outlives a connection.
    preparedStatements: !embedded && config.dbPreparedStatements,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    acquireTimeoutMs: config.dbAcquireTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    queryTimeoutMs: config.dbQueryTimeoutMs,
    keepAliveDelayMs: config.dbKeepAliveDelayMs,
    log,
  });
  try {
    const state = await readSchemaState(db);
    if (state.pending.length > 0) {
      if (!(config.migrateOnStart ?? (embedded !== undefined || state.applied.length === 0))) throw new SchemaBehindError(state);
      const started = performance.now();
      const applied = await migrateDatabase(url, { connectTimeoutMs: config.dbConnectTimeoutMs, log, via: embedded ? db : undefined });
      log.info({ applied, seconds: Math.round(performance.now() - started) / 1000 }, "migrations applied at startup");
    } else if (state.unknown.length > 0) {
      log.info({ unknown: state.unknown }, "the database has migrations this API does not know (a newer release applied them): serving with them");
    } else {
      log.info({ migrations: state.applied.length }, "database schema up to date");
    }
    return { db, embedded };
  } catch (err) {
    await db.destroy().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw err;
  }
}
