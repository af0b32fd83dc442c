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
  /** Postgres cancels a statement running longer than this (SQLSTATE 57014; default 10 s). */
  statementTimeoutMs?: number;
  /**
   * How long we wait for any answer to a query (pg's query_timeout; default the statement timeout + 5 s).
   * The bound that holds when the server cannot cancel anything: a black-holed network or a hung server.
   */
  queryTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** How long a query may queue for a pooled connection (bursts queue; a dead server fails fast). */
  acquireTimeoutMs?: number;
  /** Idle time before TCP keepalive probes start on each connection (default 10 s). */
  keepAliveDelayMs?: number;
  /** Receives knex's own warnings (pool errors) instead of the console. */
  log?: { warn(obj: object, msg: string): void };
  /**
   * Hot statements as named prepared statements (default true). Off for PGlite, whose one session
   * outlives our connection (a reconnect would find the names taken), and for a transaction-pooling
   * PgBouncer older than 1.21 (DB_PREPARED_STATEMENTS=false).
   */
  preparedStatements?: boolean;
}

/** The defaults createDb applies; the API's configuration has the same (services/api/config.ts). */
const DB_DEFAULTS = { statementTimeoutMs: 10_000, connectTimeoutMs: 3_000, acquireTimeoutMs: 10_000, keepAliveDelayMs: 10_000, queryTimeoutMarginMs: 5_000 } as const;

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

/**
 * A knex instance on Postgres with int8 parsed as numbers, and every connection attempt, wait for a
 * pooled connection and query bounded. Connections use TCP keepalive, so an idle pooled connection to
 * a host that went away is found dead instead of being handed out.
 */
export function createDb(opts: DbOptions): Knex {
  const statementTimeoutMs = opts.statementTimeoutMs ?? DB_DEFAULTS.statementTimeoutMs;
  const db = knex({
    client: "pg",
    connection: {
      connectionString: opts.url,
      types: TYPES,
      statement_timeout: statementTimeoutMs,
      query_timeout: opts.queryTimeoutMs ?? statementTimeoutMs + DB_DEFAULTS.queryTimeoutMarginMs,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? DB_DEFAULTS.connectTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: opts.keepAliveDelayMs ?? DB_DEFAULTS.keepAliveDelayMs,
    },
    pool: { min: 0, max: opts.poolMax ?? 10 },
    acquireConnectionTimeout: opts.acquireTimeoutMs ?? DB_DEFAULTS.acquireTimeoutMs,
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
 * and must never change for a given `name`. A connection that did not answer in time is closed, not
 * pooled again: what it will say next, if anything, is the answer to a query nobody waits for.
 */
export async function queryPrepared<R extends Record<string, unknown> = Record<string, unknown>>(db: Knex, name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
  const conn = (await db.client.acquireConnection()) as pg.PoolClient;
  try {
    const result = await conn.query<R>(unprepared.has(db) ? { text, values } : { name, text, values });
    // Bypassing knex's builder, so its listeners (the watch bell on an embedded database) hear of it here.
    db.emit("query-response", result, { sql: text });
    return result;
  } catch (err) {
    // pg leaves a timed-out query on its connection; end() destroys the socket, and knex then
    // discards the connection instead of handing it out again.
    if (classifyDbError(err) === "no-answer") await Promise.race([conn.end().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    throw err;
  } finally {
    await db.client.releaseConnection(conn);
  }
}

/**
 * Applies pending migrations on `db` itself, under its statement timeout: for tests and benchmarks on
 * fresh databases. The API and `npm run migrate` use migrateDatabase (schema.ts): no statement timeout,
 * and one migrator at a time.
 */
export async function migrate(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}

/**
 * What a failed database call means to its caller (a closed set):
 * - unreachable: no connection can be made or kept right now (refused, reset, timed out, the server
 *   shutting down or starting up);
 * - no-answer: a connection said nothing within the query timeout (a black-holed network, a hung server);
 * - busy: no connection to be had in time (our pool, or the server's max_connections);
 * - statement-timeout: the server cancelled a statement that ran longer than the statement timeout;
 * - conflict: a deadlock victim or serialization failure, which did nothing;
 * - unique-violation; other: anything else (a bug, or bad data), which stays as it is.
 */
export type DbFault = "unreachable" | "no-answer" | "busy" | "statement-timeout" | "conflict" | "unique-violation" | "other";

/** Socket errors (Node's errno codes) that mean the server cannot be reached now. */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "EHOSTDOWN", "ENETUNREACH", "ENETDOWN", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * The driver's own errors, which carry no code, by their whole message; knex prefixes the failed
 * query, so a message may also end with one after " - ". Anchored at both ends so that data quoted
 * in a message cannot match.
 */
const DRIVER_MESSAGES: [RegExp, DbFault][] = [
  [/(?:^| - )Query read timeout$/, "no-answer"],
  [
    /(?:^| - )(?:timeout expired|Connection terminated|Connection terminated unexpectedly|Connection terminated due to connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)$/,
    "unreachable",
  ],
];

/** SQLSTATEs, by code or class: Postgres's answer is authoritative, whatever the message says. */
function faultOfSqlState(code: string): DbFault {
  if (code === "23505") return "unique-violation";
  if (code === "57014") return "statement-timeout";
  if (code === "40P01" || code === "40001") return "conflict";
  if (code === "53300") return "busy";
  if (code === "57P01" || code === "57P02" || code === "57P03" || code.startsWith("08")) return "unreachable";
  return "other";
}

/**
 * Classifies a driver, pool or knex error (pure). Looks through `cause` and an AggregateError's
 * `errors` (Node's connect to each address of a host), nearest first.
 */
export function classifyDbError(err: unknown, depth = 0): DbFault {
  if (typeof err !== "object" || err === null || depth > 4) return "other";
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  // Node's codes first: EPIPE has the shape of a SQLSTATE.
  if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return "unreachable";
  if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return faultOfSqlState(e.code);
  if (e.name === "KnexTimeoutError") return "busy";
  const message = typeof e.message === "string" ? e.message : "";
  for (const [re, fault] of DRIVER_MESSAGES) if (re.test(message)) return fault;
  const inner = [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])].map((x) => classifyDbError(x, depth + 1)).find((f) => f !== "other");
  return inner ?? "other";
}

/** The message each retryable fault answers with (never the driver's text, which may quote SQL). */
const UNAVAILABLE_MESSAGES: Partial<Record<DbFault, string>> = {
  unreachable: "database unavailable, retry later",
  "no-answer": "database did not answer in time, retry later",
  busy: "database busy, retry later",
  "statement-timeout": "database query took longer than the statement timeout; retry later, or ask for less (a smaller page or a narrower filter)",
  conflict: "concurrent change in the database, retry",
};

/**
 * Translates driver errors into domain errors: every fault a later identical call may not hit →
 * UnavailableError, unique violations → AlreadyExistsError; anything else is rethrown as is (and
 * becomes Internal).
 */
export function translateDbError(err: unknown, uniqueMessage = "already exists"): never {
  if (err instanceof UnavailableError || err instanceof AlreadyExistsError) throw err;
  const fault = classifyDbError(err);
  if (fault === "unique-violation") throw new AlreadyExistsError(uniqueMessage);
  const message = UNAVAILABLE_MESSAGES[fault];
  if (message !== undefined) throw new UnavailableError(message, { cause: err });
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
