import { DRIFT_CHECK_AFTER_MS } from "../adapter/drift-check.js";
import { ORPHAN_SWEEP_INTERVAL_MS } from "../adapter/orphan-sweep-interval.js";
import type { BrokerConfig } from "../shared/broker/index.js";
import type { StackConfig } from "./config.js";
import type { ProcessSpec } from "./processes.js";
import type { LocalTls } from "./local-auth.js";

/** Where each service finds the stack's auth configuration and its own token (local-auth.ts). */
export interface StackAuth {
  configFile: string;
  tokenFile(name: string): string;
  /** With `--tls`: every RPC port serves TLS with this certificate; clients trust the CA. */
  tls?: LocalTls;
}

const ADAPTER_OFFSETS: Record<string, number> = { validation: 1, dns: 2, placement: 3, nodepool: 4 };
/** The shortest orphan sweep interval npm start gives an adapter at any speed. */
const MIN_STACK_SWEEP_MS = 30_000;

/** The entry of npm start's own Postgres (HYPERFLEET_DATABASE=postgres). */
export const POSTGRES_ENTRY = "services/stack/postgres-main.ts";

/** The URL of the stack's own Postgres on `port` (postgres-main.ts: trust authentication, loopback only). */
export const ownPostgresUrl = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`;

/**
 * The child processes of the local stack, in start order, with their environment. `postgresPort`: the
 * port of the stack's own Postgres (config.database "postgres"), chosen once per start.
 */
export function stackSpecs(config: StackConfig, broker: BrokerConfig, auth: StackAuth | undefined, postgresPort = config.postgresPort): ProcessSpec[] {
  const ms = (v: number) => `${Math.max(1, Math.round(v / config.speed))}ms`;
  const tls = auth?.tls;
  const scheme = tls ? "https" : "http";
  const apiUrl = `${scheme}://127.0.0.1:${config.apiPort}`;
  const common: Record<string, string> = {
    METADATA_SERVER_DETECTION: "none",
    TOPIC_NAMESPACE: config.namespace,
    API_URL: apiUrl,
    // Every service checks its callers against the stack's issuer; each proves itself with its own token.
    // Without one (AUTH=none asked for explicitly), nobody is checked: loopback only, warned loudly.
    ...(auth ? { AUTH: "jwt", AUTH_CONFIG: auth.configFile } : { AUTH: "none" }),
    ...(tls ? { TLS_CERT_FILE: tls.certFile, TLS_KEY_FILE: tls.keyFile, API_CA_FILE: tls.caFile } : {}),
    ...(broker.kind === "pubsub" ? { BROKER: "pubsub", PUBSUB_EMULATOR_HOST: broker.emulatorHost ?? "", PUBSUB_PROJECT_ID: broker.projectId } : { BROKER: "rabbitmq", RABBITMQ_URL: broker.url }),
  };
  const kube: Record<string, string> = config.kubeconfig ? { KUBECONFIG: config.kubeconfig } : { KUBE_URL: `http://127.0.0.1:${config.standinPort}` };
  const specs: ProcessSpec[] = [];
  // The API's database: the stack's own Postgres, which starts before it; PGlite (DATABASE_URL unset)
  // in the API's process; or the DATABASE_URL it inherits. Its own Postgres is migrated at startup unless
  // MIGRATE_ON_START says otherwise, as the embedded database always was: npm start needs no migrate step.
  const database: Record<string, string> = {};
  if (config.database === "postgres") {
    specs.push({
      name: "postgres",
      entry: POSTGRES_ENTRY,
      env: { POSTGRES_PORT: String(postgresPort), HYPERFLEET_POSTGRES_DIR: config.postgresDir },
      readyPort: postgresPort,
      endpoints: [`Postgres            ${ownPostgresUrl(postgresPort)} (data in ${config.postgresDir})`],
      stopLast: true,
    });
    Object.assign(database, { DATABASE_URL: ownPostgresUrl(postgresPort), MIGRATE_ON_START: process.env.MIGRATE_ON_START ?? "true" });
  }
  if (!config.kubeconfig) {
    specs.push({
      name: "kube",
      entry: "services/kube-standin/main.ts",
      env: { KUBE_STANDIN_PORT: String(config.standinPort), STANDIN_SPEED: String(config.speed) },
      readyPort: config.standinPort,
      endpoints: [`Kubernetes stand-in http://127.0.0.1:${config.standinPort}`],
    });
  }
  specs.push(
    {
      name: "api",
      entry: "services/api/main.ts",
      env: { ...common, ...database, API_PORT: String(config.apiPort), CLUSTER_REQUIRED_ADAPTERS: config.adapters.join(","), NODEPOOL_REQUIRED_ADAPTERS: config.nodepoolAdapters.join(",") },
      readyPort: config.apiPort,
      endpoints: [`API                 ${apiUrl}`],
    },
  );
  for (const adapter of [...config.adapters, ...config.nodepoolAdapters]) {
    const port = config.adapterPortBase + (ADAPTER_OFFSETS[adapter] ?? 5 + config.adapters.indexOf(adapter));
    specs.push({
      name: adapter,
      entry: "services/adapter/main.ts",
      // The config path is explicit: a compiled adapter cannot find configs/ beside its own module.
      // Drift checks (spec §7) must stay recognisable when the Sentinel's Ready max age is compressed.
      // The orphan sweep follows the speed down to 30 s: each one asks the API about every resource.
      env: { ...common, ...kube, ...tokenEnv(auth, `adapter-${adapter}`), ADAPTER: adapter, ADAPTER_CONFIG: `${process.cwd()}/services/adapter/configs/${adapter}.yaml`, ADAPTER_PORT: String(port), EVENT_CLOCK_SKEW: ms(1000), DRIFT_CHECK_AFTER: ms(Math.min(DRIFT_CHECK_AFTER_MS * config.speed, config.maxAgeReady / 2)), ORPHAN_SWEEP_INTERVAL: ms(Math.max(ORPHAN_SWEEP_INTERVAL_MS, MIN_STACK_SWEEP_MS * config.speed)) },
      readyPort: port,
      endpoints: [`Adapter ${adapter.padEnd(11)} ${scheme}://127.0.0.1:${port}`],
    });
  }
  // The Sentinels start last, so their first events find every adapter subscribed.
  specs.push(
    {
      name: "sentinel",
      entry: "services/sentinel/main.ts",
      env: {
        ...common,
        ...tokenEnv(auth, "sentinel"),
        RESOURCE_KIND: "clusters",
        SENTINEL_PORT: String(config.sentinelPort),
        SENTINEL_METRICS_PORT: String(config.sentinelPort + 1000),
        POLL_INTERVAL: ms(config.pollInterval),
        MAX_AGE_NOT_READY: ms(config.maxAgeNotReady),
        MAX_AGE_READY: ms(config.maxAgeReady),
        ADAPTERS: config.adapters.join(","),
      },
      readyPort: config.sentinelPort,
      endpoints: [`Sentinel (clusters) ${scheme}://127.0.0.1:${config.sentinelPort}`],
    },
    {
      name: "sentinel-np",
      entry: "services/sentinel/main.ts",
      env: {
        ...common,
        ...tokenEnv(auth, "sentinel"),
        RESOURCE_KIND: "nodepools",
        SENTINEL_PORT: String(config.sentinelPort + 1),
        SENTINEL_METRICS_PORT: String(config.sentinelPort + 1001),
        POLL_INTERVAL: ms(config.pollInterval),
        MAX_AGE_NOT_READY: ms(config.maxAgeNotReady),
        MAX_AGE_READY: ms(config.maxAgeReady),
        ADAPTERS: config.nodepoolAdapters.join(","),
      },
      readyPort: config.sentinelPort + 1,
      endpoints: [`Sentinel (nodepools) ${scheme}://127.0.0.1:${config.sentinelPort + 1}`],
    },
  );
  return specs;
}

function tokenEnv(auth: StackAuth | undefined, name: string): Record<string, string> {
  return auth ? { API_TOKEN_FILE: auth.tokenFile(name) } : {};
}
