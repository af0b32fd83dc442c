import knexModule from "knex";
import type { Knex } from "knex";

const knex = knexModule.knex ?? (knexModule as unknown as typeof knexModule.knex);
import pg from "pg";
import { UnavailableError, AlreadyExistsError } from "../core/domain-errors.js";
import { migrationSource } from "./migrations/index.js";
import { isoTimeMs } from "./iso-time.js";

export type { Knex };

/** Connection settings; every query and connection attempt has a timeout. */
export interface DbOptions {
  url: string;
  poolMax?: number;
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** How long a query may queue for a pooled connection (bursts queue; a dead server fails fast). */
  acquireTimeoutMs?: number;
  /**
   * Commit without waiting for the WAL flush (synchronous_commit=off). Only for status reports: they
   * are re-sent on the next event, so a crash losing the last fraction of a second of them is harmless,
   * while resource writes stay durable.
   */
  asyncCommit?: boolean;
  /** Receives knex's own warnings (pool errors) instead of the console. */
  log?: { warn(obj: object, msg: string): void };
  /**
   * Hot statements as named prepared statements (default true). Off for PGlite, whose one session
   * outlives our connection (a reconnect would find the names taken), and for a transaction-pooling
   * PgBouncer older than 1.21 (DB_PREPARED_STATEMENTS=false).
   */
  preparedStatements?: boolean;
}

/** Knex instances whose hot statements must not be prepared. */
const unprepared = new WeakSet<Knex>();

const parseInt8 = (v: string) => Number(v);
const parseTimestamptz = (v: string): unknown => {
  const ms = isoTimeMs(v);
  // Anything else (infinity, BC years, ...) as pg itself reads it.
  return ms === undefined ? pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, "text")(v) : new Date(ms);
};

/**
 * Type parsers for our connections only (pg's global ones, shared with every other pg user in the
 * process, stay untouched): int8 as numbers (generations fit easily in 2^53), and timestamptz in
 * its common shape read without pg's regular expressions (a report reads several).
 */
const TYPES: Knex.PgCustomTypesConfig = {
  getTypeParser(oid, format) {
    if (format !== "binary" && oid === pg.types.builtins.INT8) return parseInt8;
    if (format !== "binary" && oid === pg.types.builtins.TIMESTAMPTZ) return parseTimestamptz;
    return pg.types.getTypeParser(oid, format as "text" | "binary");
  },
};

/** A knex instance on Postgres with int8 parsed as numbers and every query and connection attempt bounded. */
export function createDb(opts: DbOptions): Knex {
  const db = knex({
    client: "pg",
    connection: {
      connectionString: opts.url,
      types: TYPES,
      statement_timeout: opts.statementTimeoutMs ?? 10_000,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 3_000,
      ...(opts.asyncCommit ? { options: "-c synchronous_commit=off" } : {}),
    },
    pool: { min: 0, max: opts.poolMax ?? 10 },
    acquireConnectionTimeout: opts.acquireTimeoutMs ?? 10_000,
    log: {
      warn: (m: unknown) => opts.log?.warn({ knex: String(m) }, "database warning"),
      error: (m: unknown) => opts.log?.warn({ knex: String(m) }, "database error"),
      deprecate: () => undefined,
      debug: () => undefined,
    },
  });
  if (opts.preparedStatements === false) unprepared.add(db);
  return db;
}

/**
 * Runs a hot statement as a named prepared statement (parsed and planned once per connection, not on
 * every call). Measured with pgbench on the report's two statements: 1,494 tps re-planned each time
 * against 5,261 prepared, planning being most of Postgres's work for such small statements. Knex
 * cannot name statements, so this borrows one of its pooled pg connections. `text` uses $1, $2, ...
 * and must never change for a given `name`.
 */
export async function queryPrepared<R extends Record<string, unknown> = Record<string, unknown>>(db: Knex, name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
  const conn = (await db.client.acquireConnection()) as pg.PoolClient;
  try {
    return await conn.query<R>(unprepared.has(db) ? { text, values } : { name, text, values });
  } finally {
    await db.client.releaseConnection(conn);
  }
}

/** Applies pending migrations; safe to run concurrently from several API replicas (knex takes a lock). */
export async function migrate(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "57P01", "57P02", "57P03", "53300"]);

/**
 * Translates driver errors into domain errors: connection trouble → UnavailableError, unique
 * violations → AlreadyExistsError; anything else is rethrown as is (and becomes Internal).
 */
export function translateDbError(err: unknown, uniqueMessage = "already exists"): never {
  if (err instanceof UnavailableError || err instanceof AlreadyExistsError) throw err;
  const e = err as { code?: string; name?: string; message?: string };
  if (e?.code === "23505") throw new AlreadyExistsError(uniqueMessage);
  const text = String(e?.message ?? "");
  if (
    (e?.code && (CONNECTION_CODES.has(e.code) || e.code.startsWith("08"))) ||
    e?.name === "KnexTimeoutError" ||
    /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(text)
  ) {
    throw new UnavailableError("database unavailable, retry later", { cause: err });
  }
  if (e?.code === "57014") throw new UnavailableError("database query timed out, retry later", { cause: err });
  // A deadlock victim or a serialization failure did nothing: the same call can simply be made again.
  if (e?.code === "40P01" || e?.code === "40001") throw new UnavailableError("concurrent change in the database, retry", { cause: err });
  throw err;
}

/** Pings the database every `intervalMs` so health reflects it; `stop` ends the timer. */
export function createDbProbe(db: Knex, intervalMs = 5000) {
  let healthy = true;
  const ping = async () => {
    try {
      await db.raw("select 1");
      healthy = true;
    } catch {
      healthy = false;
    }
  };
  const timer = setInterval(ping, intervalMs);
  timer.unref();
  return { healthy: () => healthy, stop: () => clearInterval(timer) };
}
