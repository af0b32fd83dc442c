import { bool, collect, list, optional, port, positiveInt, str, type Parsed } from "../shared/config.js";

/** The API's configuration, from the environment (documented in the README). */
export interface ApiConfig {
  host: string;
  port: number;
  metricsPort: number;
  /** Postgres URL; undefined runs an embedded PGlite served over the Postgres wire protocol. */
  databaseUrl: string | undefined;
  /** Where the embedded database keeps its files ("memory" keeps nothing). */
  dataDir: string;
  dbPoolMax: number;
  /** Hot statements prepared once per connection (DB_PREPARED_STATEMENTS; never for the embedded database). */
  dbPreparedStatements: boolean;
  /** Status report batches written at once (REPORT_BATCHES_IN_FLIGHT); each holds a pooled connection. */
  reportBatchesInFlight: number;
  /** Adapters whose reports decide a cluster's phase (spec §4). */
  clusterAdapters: string[];
  /** Adapters whose reports decide a nodepool's phase. */
  nodepoolAdapters: string[];
  logLevel: string;
}

/** Reads and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): ApiConfig {
  return collect<ApiConfig>({
    host: str(env, "API_HOST", "127.0.0.1"),
    port: env.API_PORT === undefined ? port(env, "PORT", 8000) : port(env, "API_PORT", 8000),
    metricsPort: port(env, "API_METRICS_PORT", 9000),
    databaseUrl: optional(env, "DATABASE_URL"),
    dataDir: str(env, "HYPERFLEET_DATA_DIR", ".hyperfleet/pglite"),
    dbPoolMax: positiveInt(env, "DB_POOL_MAX", 10),
    dbPreparedStatements: bool(env, "DB_PREPARED_STATEMENTS", true),
    reportBatchesInFlight: positiveInt(env, "REPORT_BATCHES_IN_FLIGHT", 2),
    clusterAdapters: nonEmpty(list(env, "CLUSTER_REQUIRED_ADAPTERS", ["validation", "dns", "placement"]), "CLUSTER_REQUIRED_ADAPTERS"),
    nodepoolAdapters: nonEmpty(list(env, "NODEPOOL_REQUIRED_ADAPTERS", ["nodepool"]), "NODEPOOL_REQUIRED_ADAPTERS"),
    logLevel: str(env, "LOG_LEVEL", "info"),
  });
}

function nonEmpty(p: Parsed<string[]>, name: string): Parsed<string[]> {
  if ("value" in p && p.value.length === 0) return { error: `${name}: must list at least one adapter` };
  return p;
}
