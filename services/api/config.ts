import { tlsConfig } from "../shared/tls-config.js";
import type { ServeTls } from "../shared/rpc/index.js";
import { authConfig, type AuthConfig } from "../shared/auth/index.js";
import { bool, collect, duration, list, optional, port, positiveInt, str, rpcConfig, type Parsed, type RpcConfig } from "../shared/config.js";

/** The API's configuration, from the environment (documented in the README). */
export interface ApiConfig {
  host: string;
  port: number;
  metricsPort: number;
  /** Postgres URL; undefined runs an embedded PGlite served over the Postgres wire protocol. */
  databaseUrl: string | undefined;
  /** Where the embedded database keeps its files ("memory" keeps nothing). */
  dataDir: string;
  /**
   * Apply pending migrations at startup (MIGRATE_ON_START). Undefined: only on the embedded database
   * and on a Postgres database with no schema yet; a schema that is behind otherwise stops the API,
   * which asks for `npm run migrate` (services/api/database.ts).
   */
  migrateOnStart: boolean | undefined;
  /** Connections in the pool (DB_POOL_MAX). */
  dbPoolMax: number;
  /** Hot statements prepared once per connection (DB_PREPARED_STATEMENTS; never for the embedded database). */
  dbPreparedStatements: boolean;
  /** A connection attempt gives up after this (DB_CONNECT_TIMEOUT). */
  dbConnectTimeoutMs: number;
  /** A query waits at most this long for a pooled connection (DB_ACQUIRE_TIMEOUT). */
  dbAcquireTimeoutMs: number;
  /** Postgres cancels a statement running longer (DB_STATEMENT_TIMEOUT). */
  dbStatementTimeoutMs: number;
  /** We stop waiting for a query's answer after this (DB_QUERY_TIMEOUT); above the statement timeout. */
  dbQueryTimeoutMs: number;
  /** TCP keepalive probes start after a connection is idle this long (DB_KEEPALIVE_DELAY). */
  dbKeepAliveDelayMs: number;
  /** Status report batches written at once (REPORT_BATCHES_IN_FLIGHT); each holds a pooled connection. */
  reportBatchesInFlight: number;
  /** Status reports waiting to be written, in all (REPORT_QUEUE_MAX); beyond it a report is refused at once. */
  reportQueueMax: number;
  /** Status reports waiting for one resource (REPORT_QUEUE_PER_RESOURCE); beyond it a report for it is refused at once. */
  reportQueuePerResource: number;
  /** Longest a status report waits to be written (REPORT_QUEUE_TIMEOUT) before it fails Unavailable. */
  reportQueueTimeoutMs: number;
  /** Adapters whose reports decide a cluster's phase (spec §4). */
  clusterAdapters: string[];
  /** Adapters whose reports decide a nodepool's phase. */
  nodepoolAdapters: string[];
  /** Adapters whose reports are stored and shown but decide no phase (a probe, an adapter being introduced). */
  clusterOptionalAdapters: string[];
  nodepoolOptionalAdapters: string[];
  logLevel: string;
  /** The RPC server's bounds and the fast gRPC path (RPC_*, GRPC_FAST_PATH). */
  rpc: RpcConfig;
  /** Who may call (AUTH, AUTH_CONFIG, AUTH_ISSUER...; docs/security.md). */
  auth: AuthConfig;
  /** TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE: serve TLS, and mTLS with a client CA (undefined: cleartext). */
  tls: ServeTls | undefined;
}

/** Reads and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): ApiConfig {
  const statementTimeout = timeout(env, "DB_STATEMENT_TIMEOUT", 10_000);
  return collect<ApiConfig>({
    host: str(env, "API_HOST", "127.0.0.1"),
    port: env.API_PORT === undefined ? port(env, "PORT", 8000) : port(env, "API_PORT", 8000),
    metricsPort: port(env, "API_METRICS_PORT", 9000),
    databaseUrl: optional(env, "DATABASE_URL"),
    dataDir: str(env, "HYPERFLEET_DATA_DIR", ".hyperfleet/pglite"),
    migrateOnStart: optionalBool(env, "MIGRATE_ON_START"),
    dbPoolMax: positiveInt(env, "DB_POOL_MAX", 10),
    dbPreparedStatements: bool(env, "DB_PREPARED_STATEMENTS", true),
    dbConnectTimeoutMs: timeout(env, "DB_CONNECT_TIMEOUT", 3_000),
    dbAcquireTimeoutMs: timeout(env, "DB_ACQUIRE_TIMEOUT", 10_000),
    dbStatementTimeoutMs: statementTimeout,
    dbQueryTimeoutMs: queryTimeout(env, statementTimeout),
    dbKeepAliveDelayMs: timeout(env, "DB_KEEPALIVE_DELAY", 10_000),
    reportBatchesInFlight: positiveInt(env, "REPORT_BATCHES_IN_FLIGHT", 2),
    reportQueueMax: positiveInt(env, "REPORT_QUEUE_MAX", 2_000),
    reportQueuePerResource: positiveInt(env, "REPORT_QUEUE_PER_RESOURCE", 128),
    reportQueueTimeoutMs: timeout(env, "REPORT_QUEUE_TIMEOUT", 4_000),
    clusterAdapters: nonEmpty(list(env, "CLUSTER_REQUIRED_ADAPTERS", ["validation", "dns", "placement"]), "CLUSTER_REQUIRED_ADAPTERS"),
    nodepoolAdapters: nonEmpty(list(env, "NODEPOOL_REQUIRED_ADAPTERS", ["nodepool"]), "NODEPOOL_REQUIRED_ADAPTERS"),
    clusterOptionalAdapters: list(env, "CLUSTER_OPTIONAL_ADAPTERS", []),
    nodepoolOptionalAdapters: list(env, "NODEPOOL_OPTIONAL_ADAPTERS", []),
    logLevel: str(env, "LOG_LEVEL", "info"),
    rpc: rpcConfig(env),
    auth: authConfig(env),
    tls: tlsConfig(env),
  });
}

/** Longest accepted timeout: Node's timers cannot wait longer than about 24 days, and no call of ours should wait an hour. */
const MAX_TIMEOUT_MS = 3_600_000;

/** A duration above zero and at most an hour (a zero would turn the bound off). */
function timeout(env: Record<string, string | undefined>, name: string, fallbackMs: number): Parsed<number> {
  const p = duration(env, name, fallbackMs);
  if ("value" in p && (p.value < 1 || p.value > MAX_TIMEOUT_MS)) return { error: `${name}=${JSON.stringify(env[name])}: must be between 1ms and 1h` };
  return p;
}

/**
 * DB_QUERY_TIMEOUT: by default 5 s above the statement timeout, and never at or below it: Postgres
 * cancels a slow statement itself (and says so), while this bound is for a server or network that
 * says nothing at all.
 */
function queryTimeout(env: Record<string, string | undefined>, statement: Parsed<number>): Parsed<number> {
  const statementMs = "value" in statement ? statement.value : 10_000;
  const p = timeout(env, "DB_QUERY_TIMEOUT", statementMs + 5_000);
  if ("value" in p && "value" in statement && p.value <= statementMs) {
    return { error: `DB_QUERY_TIMEOUT=${JSON.stringify(env.DB_QUERY_TIMEOUT)}: must be above DB_STATEMENT_TIMEOUT (${statementMs}ms)` };
  }
  return p;
}

/** `true`, `false`, or unset (undefined: the caller's own default applies). */
function optionalBool(env: Record<string, string | undefined>, name: string): Parsed<boolean | undefined> {
  const set = optional(env, name);
  if ("value" in set && set.value === undefined) return { value: undefined };
  return bool(env, name, false);
}

function nonEmpty(p: Parsed<string[]>, name: string): Parsed<string[]> {
  if ("value" in p && p.value.length === 0) return { error: `${name}: must list at least one adapter` };
  return p;
}
