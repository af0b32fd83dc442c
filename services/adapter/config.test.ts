import { loadConfig, type AdapterProcessConfig } from "./config.js";

describe("loadConfig: one row per variable", () => {
  test.each([
    ["ADAPTER picks the shipped config and its ports", { ADAPTER: "dns" }, { port: 8012, metricsPort: 9012, maxConcurrency: 10, kube: { kind: "url", url: "http://127.0.0.1:8080" } }],
    ["ADAPTER_CONFIG", { ADAPTER_CONFIG: "/etc/hf/custom.yaml" }, { configPath: "/etc/hf/custom.yaml", port: 8010 }],
    ["ADAPTER_PORT moves the metrics port with it", { ADAPTER: "dns", ADAPTER_PORT: "18012" }, { port: 18012, metricsPort: 19012 }],
    ["ADAPTER_METRICS_PORT", { ADAPTER: "dns", ADAPTER_METRICS_PORT: "9999" }, { metricsPort: 9999 }],
    ["ADAPTER_HOST", { ADAPTER: "dns", ADAPTER_HOST: "0.0.0.0" }, { host: "0.0.0.0" }],
    ["API_URL", { ADAPTER: "dns", API_URL: "http://api:8000" }, { apiUrl: "http://api:8000" }],
    ["API_TIMEOUT", { ADAPTER: "dns", API_TIMEOUT: "2s" }, { apiTimeoutMs: 2000 }],
    ["TOPIC_NAMESPACE", { ADAPTER: "dns", TOPIC_NAMESPACE: "prod" }, { namespace: "prod" }],
    ["MAX_CONCURRENCY", { ADAPTER: "dns", MAX_CONCURRENCY: "4" }, { maxConcurrency: 4 }],
    ["KUBECONFIG", { ADAPTER: "dns", KUBECONFIG: "/k/config" }, { kube: { kind: "kubeconfig", path: "/k/config" } }],
    ["in-cluster", { ADAPTER: "dns", KUBERNETES_SERVICE_HOST: "10.0.0.1" }, { kube: { kind: "inCluster" } }],
    ["KUBE_URL", { ADAPTER: "dns", KUBE_URL: "http://kube:8080" }, { kube: { kind: "url", url: "http://kube:8080" } }],
    ["KUBE_TIMEOUT", { ADAPTER: "dns", KUBE_TIMEOUT: "3s" }, { kubeTimeoutMs: 3000 }],
    ["ORPHAN_SWEEP_INTERVAL defaults to 5 minutes", { ADAPTER: "dns" }, { orphanSweepIntervalMs: 300_000 }],
    ["ORPHAN_SWEEP_INTERVAL", { ADAPTER: "dns", ORPHAN_SWEEP_INTERVAL: "90s" }, { orphanSweepIntervalMs: 90_000 }],
    ["ORPHAN_SWEEP_INTERVAL=0 turns the timer off", { ADAPTER: "dns", ORPHAN_SWEEP_INTERVAL: "0" }, { orphanSweepIntervalMs: 0 }],
    ["ORPHAN_SWEEP_INTERVAL=0s too", { ADAPTER: "dns", ORPHAN_SWEEP_INTERVAL: "0s" }, { orphanSweepIntervalMs: 0 }],
    ["BROKER=rabbitmq", { ADAPTER: "dns", BROKER: "rabbitmq" }, { broker: { kind: "rabbitmq", url: "amqp://guest:guest@127.0.0.1:5672", timeoutMs: 10000 } }],
  ] as [string, Record<string, string>, Partial<AdapterProcessConfig>][])("%s", (_name, env, want) => {
    expect(loadConfig({ AUTH: "none", ...env })).toMatchObject(want);
  });

  test.each([
    ["no adapter named", {}, /ADAPTER="": set ADAPTER to one of validation, dns, placement, nodepool/],
    ["a bad port", { ADAPTER: "dns", ADAPTER_PORT: "x" }, /ADAPTER_PORT="x"/],
    ["a bad broker", { ADAPTER: "dns", BROKER: "kafka" }, /BROKER="kafka": must be one of pubsub, rabbitmq/],
    ["a malformed sweep interval", { ADAPTER: "dns", ORPHAN_SWEEP_INTERVAL: "often" }, /ORPHAN_SWEEP_INTERVAL="often": must be a duration/],
    ["a sweep interval under a second", { ADAPTER: "dns", ORPHAN_SWEEP_INTERVAL: "200ms" }, /ORPHAN_SWEEP_INTERVAL="200ms": must be 0 \(off\) or between 1s and 24h/],
    ["a sweep interval over a day", { ADAPTER: "dns", ORPHAN_SWEEP_INTERVAL: "25h" }, /ORPHAN_SWEEP_INTERVAL="25h": must be 0 \(off\) or between 1s and 24h/],
  ])("%s is rejected naming the variable", (_name, env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
