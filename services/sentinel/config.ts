import { clientTlsConfig, tlsConfig } from "../shared/tls-config.js";
import type { ServeTls } from "../shared/rpc/index.js";
import type { ClientTls } from "../shared/rpc/grpc-client.js";
import { apiCredentialsConfig, authConfig, type ApiCredentialsConfig, type AuthConfig } from "../shared/auth/index.js";
import { bool, collect, duration, list, oneOf, port, positiveInt, str, rpcConfig, type Parsed, type RpcConfig } from "../shared/config.js";
import { brokerConfig, topicName, type BrokerConfig, type ResourceKind } from "../shared/broker/index.js";
import { parseLabelSelector } from "../shared/label-selector.js";
import { DEFAULT_MAX_OUTSTANDING } from "./core/flow.js";
import { shardRequirements, type ShardRequirement } from "./core/due-query.js";

/** The Sentinel's configuration (README, "Configuration"). */
export interface SentinelConfig {
  host: string;
  port: number;
  metricsPort: number;
  apiUrl: string;
  apiTimeoutMs: number;
  kind: ResourceKind;
  pollIntervalMs: number;
  maxAgeNotReadyMs: number;
  maxAgeReadyMs: number;
  labelSelector: string;
  selector: ShardRequirement[];
  pageSize: number;
  /** The most events that may wait for the adapters' answers at once (MAX_OUTSTANDING_EVENTS). */
  maxOutstanding: number;
  topic: string;
  /** Adapters whose subscriptions the Sentinel provisions with its topic at startup. */
  adapters: string[];
  broker: BrokerConfig;
  logLevel: string;
  /** The RPC server's bounds and the fast gRPC path (RPC_*, GRPC_FAST_PATH). */
  rpc: RpcConfig;
  /** Who may call this Sentinel (AUTH...; docs/security.md). */
  auth: AuthConfig;
  /** TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE: serve TLS, and mTLS with a client CA (undefined: cleartext). */
  tls: ServeTls | undefined;
  /** API_CA_FILE, API_CLIENT_CERT_FILE, API_CLIENT_KEY_FILE: how to reach an https API (and prove itself by certificate). */
  apiTls: ClientTls | undefined;
  /** How it proves itself to the API (API_TOKEN_FILE). */
  apiCredentials: ApiCredentialsConfig;
  /** WATCH: stream the API's changes and publish a change at once (the poll stays the guarantee). */
  watch: boolean;
}

const DEFAULTS: Record<ResourceKind, { port: number; metricsPort: number; adapters: string[] }> = {
  clusters: { port: 8001, metricsPort: 9001, adapters: ["validation", "dns", "placement"] },
  nodepools: { port: 8002, metricsPort: 9002, adapters: ["nodepool"] },
};

/** Reads and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): SentinelConfig {
  const kindParsed = oneOf(env, "RESOURCE_KIND", ["clusters", "nodepools"] as const, "clusters");
  const kind = "value" in kindParsed ? kindParsed.value : "clusters";
  const d = DEFAULTS[kind];
  const namespace = str(env, "TOPIC_NAMESPACE", "hyperfleet") as { value: string };
  const selectorText = str(env, "LABEL_SELECTOR", "") as { value: string };
  const parsedSelector = parseLabelSelector(selectorText.value);
  const sharded = parsedSelector.ok ? shardRequirements(parsedSelector.requirements) : parsedSelector;
  const selector: Parsed<ShardRequirement[]> = sharded.ok
    ? { value: sharded.requirements }
    : { error: `LABEL_SELECTOR=${JSON.stringify(selectorText.value)}: ${sharded.error}` };
  return collect<SentinelConfig>({
    host: str(env, "SENTINEL_HOST", "127.0.0.1"),
    port: port(env, "SENTINEL_PORT", d.port),
    metricsPort: port(env, "SENTINEL_METRICS_PORT", d.metricsPort),
    apiUrl: str(env, "API_URL", "http://127.0.0.1:8000"),
    apiTimeoutMs: duration(env, "API_TIMEOUT", 5000),
    kind: kindParsed,
    pollIntervalMs: positive(duration(env, "POLL_INTERVAL", 10_000), "POLL_INTERVAL"),
    maxAgeNotReadyMs: duration(env, "MAX_AGE_NOT_READY", 10_000),
    maxAgeReadyMs: duration(env, "MAX_AGE_READY", 30 * 60_000),
    labelSelector: selectorText,
    selector,
    pageSize: positiveInt(env, "PAGE_SIZE", 500),
    maxOutstanding: positiveInt(env, "MAX_OUTSTANDING_EVENTS", DEFAULT_MAX_OUTSTANDING),
    topic: str(env, "TOPIC", topicName(namespace.value, kind)),
    adapters: list(env, "ADAPTERS", d.adapters),
    broker: brokerConfig(env),
    logLevel: str(env, "LOG_LEVEL", "info"),
    rpc: rpcConfig(env),
    auth: authConfig(env),
    tls: tlsConfig(env),
    apiTls: clientTlsConfig(env),
    apiCredentials: apiCredentialsConfig(env),
    watch: bool(env, "WATCH", true),
  });
}

function positive(p: Parsed<number>, name: string): Parsed<number> {
  return "value" in p && p.value <= 0 ? { error: `${name}: must be greater than zero` } : p;
}
