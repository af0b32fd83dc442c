import { brokerConfig, type BrokerConfig } from "../shared/broker/index.js";
import { collect, duration, list, optional, port, str } from "../shared/config.js";

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
}

export function loadConfig(env: Record<string, string | undefined>): StackConfig {
  return collect<StackConfig>({
    apiPort: port(env, "API_PORT", 8000),
    sentinelPort: port(env, "SENTINEL_PORT", 8001),
    emulatorPort: port(env, "PUBSUB_EMULATOR_PORT", 8085),
    emulatorHost: optional(env, "PUBSUB_EMULATOR_HOST"),
    emulatorBin: str(env, "PUBSUB_EMULATOR_BIN", "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator"),
    broker: brokerConfig(env),
    namespace: str(env, "TOPIC_NAMESPACE", "hyperfleet"),
    clusterAdapters: list(env, "CLUSTER_ADAPTERS", ["validation", "dns", "placement"]),
    nodepoolAdapters: list(env, "NODEPOOL_ADAPTERS", ["nodepool"]),
    pollInterval: duration(env, "POLL_INTERVAL", 10_000),
  });
}
