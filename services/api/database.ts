import type { Logger } from "../shared/log.js";
import { createDb, migrate, type Knex } from "./store/db.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./store/embedded-postgres.js";
import type { ApiConfig } from "./config.js";

/** Connects to DATABASE_URL, or starts the embedded one, and applies migrations. */
export async function openDatabase(config: ApiConfig, log: Logger): Promise<{ db: Knex; reportsDb: Knex; embedded?: EmbeddedPostgres }> {
  let url = config.databaseUrl;
  let embedded: EmbeddedPostgres | undefined;
  if (url === undefined) {
    embedded = await startEmbeddedPostgres(config.dataDir);
    url = embedded.url;
    log.info({ dataDir: config.dataDir }, "DATABASE_URL not set: using embedded Postgres (PGlite)");
  }
  const prepared = !embedded && config.dbPreparedStatements;
  const bounds = {
    connectTimeoutMs: config.dbConnectTimeoutMs,
    acquireTimeoutMs: config.dbAcquireTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    queryTimeoutMs: config.dbQueryTimeoutMs,
    keepAliveDelayMs: config.dbKeepAliveDelayMs,
    log,
  };
  const db = createDb({ url, poolMax: embedded ? 1 : config.dbPoolMax, preparedStatements: prepared, ...bounds });
  const applied = await migrate(db);
  log.info({ applied }, "migrations applied");
  // Status reports get their own pool with asynchronous commit (see createDb); PGlite has one session only.
  const reportsDb = embedded ? db : createDb({ url, poolMax: config.dbPoolMax, asyncCommit: true, preparedStatements: prepared, ...bounds });
  return { db, reportsDb, embedded };
}
