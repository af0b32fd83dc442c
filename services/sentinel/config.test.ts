import { loadConfig, type SentinelConfig } from "./config.js";

describe("loadConfig: one row per variable", () => {
  test.each([
    ["defaults: the seed's intervals", {}, { port: 8001, metricsPort: 9001, kind: "clusters", pollIntervalMs: 10_000, maxAgeNotReadyMs: 10_000, maxAgeReadyMs: 1_800_000, topic: "hyperfleet-clusters", pageSize: 500, selector: [] }],
    ["RESOURCE_KIND=nodepools: its own ports, topic and adapters", { RESOURCE_KIND: "nodepools" }, { port: 8002, metricsPort: 9002, topic: "hyperfleet-nodepools", adapters: ["nodepool"] }],
    ["SENTINEL_HOST", { SENTINEL_HOST: "0.0.0.0" }, { host: "0.0.0.0" }],
    ["SENTINEL_PORT", { SENTINEL_PORT: "18001" }, { port: 18001 }],
    ["SENTINEL_METRICS_PORT", { SENTINEL_METRICS_PORT: "19001" }, { metricsPort: 19001 }],
    ["API_URL", { API_URL: "http://api:8000" }, { apiUrl: "http://api:8000" }],
    ["API_TIMEOUT", { API_TIMEOUT: "2s" }, { apiTimeoutMs: 2000 }],
    ["POLL_INTERVAL", { POLL_INTERVAL: "150ms" }, { pollIntervalMs: 150 }],
    ["MAX_AGE_NOT_READY", { MAX_AGE_NOT_READY: "1s" }, { maxAgeNotReadyMs: 1000 }],
    ["MAX_AGE_READY", { MAX_AGE_READY: "1h" }, { maxAgeReadyMs: 3_600_000 }],
    ["LABEL_SELECTOR", { LABEL_SELECTOR: "shard=a" }, { labelSelector: "shard=a", selector: [{ key: "shard", op: "=", value: "a" }] }],
    ["LABEL_SELECTOR with a set", { LABEL_SELECTOR: "shard in (a,b)" }, { selector: [{ key: "shard", op: "in", values: ["a", "b"] }] }],
    ["PAGE_SIZE", { PAGE_SIZE: "100" }, { pageSize: 100 }],
    ["TOPIC_NAMESPACE", { TOPIC_NAMESPACE: "prod" }, { topic: "prod-clusters" }],
    ["TOPIC", { TOPIC: "custom" }, { topic: "custom" }],
    ["ADAPTERS", { ADAPTERS: "a,b" }, { adapters: ["a", "b"] }],
    ["PUBSUB_EMULATOR_HOST", { PUBSUB_EMULATOR_HOST: "127.0.0.1:8085" }, { broker: { kind: "pubsub", projectId: "hyperfleet-local", emulatorHost: "127.0.0.1:8085", timeoutMs: 10000 } }],
  ] as [string, Record<string, string>, Partial<SentinelConfig>][])("%s", (_name, env, want) => {
    expect(loadConfig({ AUTH: "none", ...env })).toMatchObject(want);
  });

  test.each([
    ["POLL_INTERVAL=10", { POLL_INTERVAL: "10" }, /POLL_INTERVAL="10": must be a duration/],
    ["POLL_INTERVAL=0s", { POLL_INTERVAL: "0s" }, /POLL_INTERVAL: must be greater than zero/],
    ["LABEL_SELECTOR that does not parse", { LABEL_SELECTOR: "a='b'" }, /LABEL_SELECTOR="a='b'": unable to parse requirement/],
    ["LABEL_SELECTOR testing a label's absence", { LABEL_SELECTOR: "shard=a,!canary" }, /LABEL_SELECTOR="shard=a,!canary": "!canary": a Sentinel shards on/],
    ["RESOURCE_KIND=pods", { RESOURCE_KIND: "pods" }, /RESOURCE_KIND="pods": must be one of clusters, nodepools/],
  ])("%s is rejected naming the variable", (_name, env, message) => expect(() => loadConfig(env)).toThrow(message));
});
