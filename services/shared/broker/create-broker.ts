import type { Broker } from "./broker.js";
import { createPubSubBroker } from "./pubsub.js";
import { createRabbitBroker } from "./rabbitmq.js";

/** Which backend and how to reach it; parsed by each service's config from the environment. */
export type BrokerConfig =
  | { kind: "pubsub"; projectId: string; emulatorHost?: string; timeoutMs?: number }
  | { kind: "rabbitmq"; url: string; timeoutMs?: number; connectionName?: string };

/** The broker named by the configuration; `name` names the process's connection where the broker shows it (RabbitMQ). */
export function createBroker(config: BrokerConfig, onError?: (err: unknown, context: string) => void, name?: string): Broker {
  return config.kind === "pubsub" ? createPubSubBroker({ ...config, onError }) : createRabbitBroker({ connectionName: name, ...config, onError });
}
