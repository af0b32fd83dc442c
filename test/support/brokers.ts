import type { BrokerConfig } from "../../services/shared/broker/index.js";

/** The brokers every broker-facing suite runs against: the Pub/Sub emulator and the machine's RabbitMQ. */
export const TEST_BROKERS: [string, BrokerConfig][] = [
  ["pubsub", { kind: "pubsub", projectId: "hyperfleet-test", emulatorHost: process.env.PUBSUB_EMULATOR_HOST ?? "127.0.0.1:8085", timeoutMs: 5000 }],
  ["rabbitmq", { kind: "rabbitmq", url: process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672", timeoutMs: 5000 }],
];

/** A namespace no other test run uses, so topics and queues never collide. */
export function uniqueNamespace(prefix = "t"): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Polls `check` until it returns a value or `timeoutMs` passes. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
