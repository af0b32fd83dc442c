import { ConfigError } from "../shared/config.js";
import { loadConfig, type ApiConfig } from "./config.js";

describe("loadConfig: one row per variable", () => {
  test.each([
    ["defaults", {}, { host: "127.0.0.1", port: 8000, metricsPort: 9000, databaseUrl: undefined, dataDir: ".hyperfleet/pglite", dbPoolMax: 10, reportBatchesInFlight: 2, clusterAdapters: ["validation", "dns", "placement"] }],
    ["API_HOST", { API_HOST: "0.0.0.0" }, { host: "0.0.0.0" }],
    ["API_PORT", { API_PORT: "8100" }, { port: 8100 }],
    ["PORT (alias of API_PORT)", { PORT: "8200" }, { port: 8200 }],
    ["API_METRICS_PORT", { API_METRICS_PORT: "9100" }, { metricsPort: 9100 }],
    ["DATABASE_URL", { DATABASE_URL: "postgres://u@db/hf" }, { databaseUrl: "postgres://u@db/hf" }],
    ["HYPERFLEET_DATA_DIR", { HYPERFLEET_DATA_DIR: "memory" }, { dataDir: "memory" }],
    ["DB_POOL_MAX", { DB_POOL_MAX: "4" }, { dbPoolMax: 4 }],
    ["REPORT_BATCHES_IN_FLIGHT", { REPORT_BATCHES_IN_FLIGHT: "3" }, { reportBatchesInFlight: 3 }],
    ["CLUSTER_REQUIRED_ADAPTERS", { CLUSTER_REQUIRED_ADAPTERS: "validation, dns" }, { clusterAdapters: ["validation", "dns"] }],
    ["NODEPOOL_REQUIRED_ADAPTERS", { NODEPOOL_REQUIRED_ADAPTERS: "nodepool,audit" }, { nodepoolAdapters: ["nodepool", "audit"] }],
    ["LOG_LEVEL", { LOG_LEVEL: "debug" }, { logLevel: "debug" }],
  ] as [string, Record<string, string>, Partial<ApiConfig>][])("%s", (_name, env, want) => {
    expect(loadConfig(env)).toMatchObject(want);
  });

  test.each([
    ["PORT=abc", { PORT: "abc" }, /PORT="abc": must be a port number/],
    ["API_PORT=70000", { API_PORT: "70000" }, /API_PORT="70000"/],
    ["DB_POOL_MAX=0", { DB_POOL_MAX: "0" }, /DB_POOL_MAX="0": must be a positive integer/],
    ["REPORT_BATCHES_IN_FLIGHT=0", { REPORT_BATCHES_IN_FLIGHT: "0" }, /REPORT_BATCHES_IN_FLIGHT="0": must be a positive integer/],
    ["CLUSTER_REQUIRED_ADAPTERS=,", { CLUSTER_REQUIRED_ADAPTERS: "," }, /CLUSTER_REQUIRED_ADAPTERS: must list at least one adapter/],
  ])("%s is rejected naming the variable", (_name, env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  test("every problem is reported at once", () => {
    try {
      loadConfig({ API_PORT: "x", API_METRICS_PORT: "y" });
      throw new Error("expected ConfigError");
    } catch (err) {
      expect((err as ConfigError).problems).toHaveLength(2);
    }
  });
});
