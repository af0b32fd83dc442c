import { ConfigError } from "../shared/config.js";
import { loadConfig, type ApiConfig } from "./config.js";

describe("loadConfig: one row per variable", () => {
  test.each([
    ["defaults", {}, { host: "127.0.0.1", port: 8000, metricsPort: 9000, databaseUrl: undefined, dataDir: ".hyperfleet/pglite", migrateOnStart: undefined, dbPoolMax: 10, dbConnectTimeoutMs: 3000, dbAcquireTimeoutMs: 10_000, dbStatementTimeoutMs: 10_000, dbQueryTimeoutMs: 15_000, dbKeepAliveDelayMs: 10_000, reportBatchesInFlight: 2, reportQueueMax: 2000, reportQueuePerResource: 128, reportQueueTimeoutMs: 4000, clusterAdapters: ["validation", "dns", "placement"] }],
    ["API_HOST", { API_HOST: "0.0.0.0" }, { host: "0.0.0.0" }],
    ["API_PORT", { API_PORT: "8100" }, { port: 8100 }],
    ["PORT (alias of API_PORT)", { PORT: "8200" }, { port: 8200 }],
    ["API_METRICS_PORT", { API_METRICS_PORT: "9100" }, { metricsPort: 9100 }],
    ["DATABASE_URL", { DATABASE_URL: "postgres://u@db/hf" }, { databaseUrl: "postgres://u@db/hf" }],
    ["HYPERFLEET_DATA_DIR", { HYPERFLEET_DATA_DIR: "memory" }, { dataDir: "memory" }],
    ["MIGRATE_ON_START=true", { MIGRATE_ON_START: "true" }, { migrateOnStart: true }],
    ["MIGRATE_ON_START=false", { MIGRATE_ON_START: "false" }, { migrateOnStart: false }],
    ["DB_POOL_MAX", { DB_POOL_MAX: "4" }, { dbPoolMax: 4 }],
    ["DB_CONNECT_TIMEOUT", { DB_CONNECT_TIMEOUT: "500ms" }, { dbConnectTimeoutMs: 500 }],
    ["DB_ACQUIRE_TIMEOUT", { DB_ACQUIRE_TIMEOUT: "2s" }, { dbAcquireTimeoutMs: 2000 }],
    ["DB_STATEMENT_TIMEOUT (the query timeout follows it)", { DB_STATEMENT_TIMEOUT: "30s" }, { dbStatementTimeoutMs: 30_000, dbQueryTimeoutMs: 35_000 }],
    ["DB_QUERY_TIMEOUT", { DB_QUERY_TIMEOUT: "12s" }, { dbStatementTimeoutMs: 10_000, dbQueryTimeoutMs: 12_000 }],
    ["DB_KEEPALIVE_DELAY", { DB_KEEPALIVE_DELAY: "1m" }, { dbKeepAliveDelayMs: 60_000 }],
    ["REPORT_BATCHES_IN_FLIGHT", { REPORT_BATCHES_IN_FLIGHT: "3" }, { reportBatchesInFlight: 3 }],
    ["REPORT_QUEUE_MAX", { REPORT_QUEUE_MAX: "500" }, { reportQueueMax: 500 }],
    ["REPORT_QUEUE_PER_RESOURCE", { REPORT_QUEUE_PER_RESOURCE: "4" }, { reportQueuePerResource: 4 }],
    ["REPORT_QUEUE_TIMEOUT", { REPORT_QUEUE_TIMEOUT: "1500ms" }, { reportQueueTimeoutMs: 1500 }],
    ["CLUSTER_REQUIRED_ADAPTERS", { CLUSTER_REQUIRED_ADAPTERS: "validation, dns" }, { clusterAdapters: ["validation", "dns"] }],
    ["NODEPOOL_REQUIRED_ADAPTERS", { NODEPOOL_REQUIRED_ADAPTERS: "nodepool,audit" }, { nodepoolAdapters: ["nodepool", "audit"] }],
    ["LOG_LEVEL", { LOG_LEVEL: "debug" }, { logLevel: "debug" }],
  ] as [string, Record<string, string>, Partial<ApiConfig>][])("%s", (_name, env, want) => {
    expect(loadConfig({ AUTH: "none", ...env })).toMatchObject(want);
  });

  test.each([
    ["PORT=abc", { PORT: "abc" }, /PORT="abc": must be a port number/],
    ["API_PORT=70000", { API_PORT: "70000" }, /API_PORT="70000"/],
    ["MIGRATE_ON_START=yes", { MIGRATE_ON_START: "yes" }, /MIGRATE_ON_START="yes": must be one of true, false/],
    ["DB_POOL_MAX=0", { DB_POOL_MAX: "0" }, /DB_POOL_MAX="0": must be a positive integer/],
    ["REPORT_BATCHES_IN_FLIGHT=0", { REPORT_BATCHES_IN_FLIGHT: "0" }, /REPORT_BATCHES_IN_FLIGHT="0": must be a positive integer/],
    ["DB_CONNECT_TIMEOUT=soon", { DB_CONNECT_TIMEOUT: "soon" }, /DB_CONNECT_TIMEOUT="soon": must be a duration/],
    ["DB_ACQUIRE_TIMEOUT=0s (a zero would turn the bound off)", { DB_ACQUIRE_TIMEOUT: "0s" }, /DB_ACQUIRE_TIMEOUT="0s": must be between 1ms and 1h/],
    ["DB_STATEMENT_TIMEOUT=2h", { DB_STATEMENT_TIMEOUT: "2h" }, /DB_STATEMENT_TIMEOUT="2h": must be between 1ms and 1h/],
    ["DB_QUERY_TIMEOUT at the statement timeout", { DB_STATEMENT_TIMEOUT: "5s", DB_QUERY_TIMEOUT: "5s" }, /DB_QUERY_TIMEOUT="5s": must be above DB_STATEMENT_TIMEOUT \(5000ms\)/],
    ["DB_KEEPALIVE_DELAY=0ms", { DB_KEEPALIVE_DELAY: "0ms" }, /DB_KEEPALIVE_DELAY="0ms"/],
    ["REPORT_QUEUE_MAX=0", { REPORT_QUEUE_MAX: "0" }, /REPORT_QUEUE_MAX="0": must be a positive integer/],
    ["REPORT_QUEUE_PER_RESOURCE=-1", { REPORT_QUEUE_PER_RESOURCE: "-1" }, /REPORT_QUEUE_PER_RESOURCE="-1": must be a positive integer/],
    ["REPORT_QUEUE_TIMEOUT=0s", { REPORT_QUEUE_TIMEOUT: "0s" }, /REPORT_QUEUE_TIMEOUT="0s": must be between 1ms and 1h/],
    ["CLUSTER_REQUIRED_ADAPTERS=,", { CLUSTER_REQUIRED_ADAPTERS: "," }, /CLUSTER_REQUIRED_ADAPTERS: must list at least one adapter/],
  ])("%s is rejected naming the variable", (_name, env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  test("every problem is reported at once", () => {
    try {
      loadConfig({ API_PORT: "x", API_METRICS_PORT: "y" });
      throw new Error("expected ConfigError");
    } catch (err) {
      // Secure by default: with nothing configured, authentication is on and asks for an issuer.
      expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^API_PORT=/), expect.stringMatching(/^API_METRICS_PORT=/), expect.stringMatching(/^AUTH=jwt needs an issuer/)]);
    }
  });
});
