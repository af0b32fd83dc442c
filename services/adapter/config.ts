import { clientTlsConfig, tlsConfig } from "../shared/tls-config.js";
import type { ServeTls } from "../shared/rpc/index.js";
import type { ClientTls } from "../shared/rpc/grpc-client.js";
import { fileURLToPath } from "node:url";
import { brokerConfig, subscriptionName, topicName, type BrokerConfig } from "../shared/broker/index.js";
import { apiCredentialsConfig, authConfig, type ApiCredentialsConfig, type AuthConfig } from "../shared/auth/index.js";
import { bool, collect, duration, optional, port, positiveInt, str, rpcConfig, type Parsed, type RpcConfig } from "../shared/config.js";
import type { KubeTarget } from "./kube.js";
import { DRIFT_CHECK_AFTER_MS } from "./drift-check.js";
import { MAX_ORPHAN_SWEEP_INTERVAL_MS, MIN_ORPHAN_SWEEP_INTERVAL_MS, ORPHAN_SWEEP_INTERVAL_MS } from "./orphan-sweep-interval.js";

/** The adapter process's configuration; the adapter itself is described by its YAML file. */
export interface AdapterProcessConfig {
  configPath: string;
  host: string;
  port: number;
  metricsPort: number;
  apiUrl: string;
  apiTimeoutMs: number;
  namespace: string;
  broker: BrokerConfig;
  maxConcurrency: number;
  kube: KubeTarget;
  kubeTimeoutMs: number;
  /**
   * An event for a Ready resource this adapter last reported on longer ago than this is a drift check
   * (DRIFT_CHECK_AFTER), which reads Kubernetes, not the cache. Keep it below the Sentinel's MAX_AGE_READY.
   */
  driftCheckAfterMs: number;
  /**
   * How far the Sentinel's clock may run behind this adapter's (EVENT_CLOCK_SKEW): an event older than
   * a successful reconcile of its resource that started since, by more than this, is skipped (Superseded).
   */
  eventClockSkewMs: number;
  /**
   * Sweep the adapter's objects for orphans (their resource is gone) this often (ORPHAN_SWEEP_INTERVAL);
   * 0: only when a reconcile finds its resource NotFound.
   */
  orphanSweepIntervalMs: number;
  /** Watch the adapter's own Kubernetes objects and reconcile when they change (WATCH_OBJECTS). */
  watchObjects: boolean;
  logLevel: string;
  /** The RPC server's bounds and the fast gRPC path (RPC_*, GRPC_FAST_PATH). */
  rpc: RpcConfig;
  /** Who may call this adapter (AUTH...; docs/security.md): DryRun is the operator's. */
  auth: AuthConfig;
  /** TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE: serve TLS, and mTLS with a client CA (undefined: cleartext). */
  tls: ServeTls | undefined;
  /** API_CA_FILE, API_CLIENT_CERT_FILE, API_CLIENT_KEY_FILE: how to reach an https API (and prove itself by certificate). */
  apiTls: ClientTls | undefined;
  /** How it proves itself to the API (API_TOKEN_FILE). */
  apiCredentials: ApiCredentialsConfig;
}

/** Default ports of the seed's adapters (README); others use ADAPTER_PORT. */
export const ADAPTER_PORTS: Record<string, number> = { validation: 8011, dns: 8012, placement: 8013, nodepool: 8014 };

const CONFIG_DIR = fileURLToPath(new URL("./configs/", import.meta.url));

export function loadConfig(env: Record<string, string | undefined>): AdapterProcessConfig {
  const name = env.ADAPTER?.trim() ?? "";
  const path: Parsed<string> = env.ADAPTER_CONFIG?.trim()
    ? { value: env.ADAPTER_CONFIG.trim() }
    : name in ADAPTER_PORTS
      ? { value: `${CONFIG_DIR}${name}.yaml` }
      : { error: `ADAPTER=${JSON.stringify(name)}: set ADAPTER to one of ${Object.keys(ADAPTER_PORTS).join(", ")}, or ADAPTER_CONFIG to a YAML file` };
  const defaultPort = ADAPTER_PORTS[name] ?? 8010;
  const kubeconfig = optional(env, "KUBECONFIG") as { value: string | undefined };
  const kube: KubeTarget = kubeconfig.value
    ? { kind: "kubeconfig", path: kubeconfig.value }
    : env.KUBERNETES_SERVICE_HOST
      ? { kind: "inCluster" }
      : { kind: "url", url: (str(env, "KUBE_URL", "http://127.0.0.1:8080") as { value: string }).value };
  const servicePort = port(env, "ADAPTER_PORT", defaultPort);
  return collect<AdapterProcessConfig>({
    configPath: path,
    host: str(env, "ADAPTER_HOST", "127.0.0.1"),
    port: servicePort,
    // Metrics sit 1000 above the service port, whichever it is, so several stacks never collide.
    metricsPort: port(env, "ADAPTER_METRICS_PORT", ("value" in servicePort ? servicePort.value : defaultPort) + 1000),
    apiUrl: str(env, "API_URL", "http://127.0.0.1:8000"),
    apiTimeoutMs: duration(env, "API_TIMEOUT", 5000),
    namespace: str(env, "TOPIC_NAMESPACE", "hyperfleet"),
    broker: brokerConfig(env),
    maxConcurrency: positiveInt(env, "MAX_CONCURRENCY", 10),
    kube: { value: kube },
    kubeTimeoutMs: duration(env, "KUBE_TIMEOUT", 10_000),
    driftCheckAfterMs: duration(env, "DRIFT_CHECK_AFTER", DRIFT_CHECK_AFTER_MS),
    eventClockSkewMs: duration(env, "EVENT_CLOCK_SKEW", 1000),
    orphanSweepIntervalMs: sweepInterval(env),
    watchObjects: bool(env, "WATCH_OBJECTS", true),
    logLevel: str(env, "LOG_LEVEL", "info"),
    rpc: rpcConfig(env),
    auth: authConfig(env),
    tls: tlsConfig(env),
    apiTls: clientTlsConfig(env),
    apiCredentials: apiCredentialsConfig(env),
  });
}

/** ORPHAN_SWEEP_INTERVAL: 0 (off), or 1s to 24h (Node's timers overflow at about 24 days and fire at once). */
function sweepInterval(env: Record<string, string | undefined>): Parsed<number> {
  if (env.ORPHAN_SWEEP_INTERVAL?.trim() === "0") return { value: 0 };
  const p = duration(env, "ORPHAN_SWEEP_INTERVAL", ORPHAN_SWEEP_INTERVAL_MS);
  if ("value" in p && p.value !== 0 && (p.value < MIN_ORPHAN_SWEEP_INTERVAL_MS || p.value > MAX_ORPHAN_SWEEP_INTERVAL_MS)) {
    return { error: `ORPHAN_SWEEP_INTERVAL=${JSON.stringify(env.ORPHAN_SWEEP_INTERVAL)}: must be 0 (off) or between 1s and 24h` };
  }
  return p;
}

/** `<namespace>-<kind>-<adapter>` (spec §5). */
export function adapterSubscription(namespace: string, kind: "clusters" | "nodepools", adapter: string): string {
  return subscriptionName(topicName(namespace, kind), adapter);
}

