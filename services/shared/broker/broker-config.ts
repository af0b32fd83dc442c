import { duration, oneOf, optional, str, type Parsed } from "../config.js";
import type { BrokerConfig } from "./create-broker.js";

type Env = Record<string, string | undefined>;

/**
 * BROKER=pubsub (default) uses PUBSUB_PROJECT_ID and PUBSUB_EMULATOR_HOST (unset = real Google Cloud);
 * BROKER=rabbitmq uses RABBITMQ_URL. BROKER_TIMEOUT bounds every broker call.
 */
export function brokerConfig(env: Env): Parsed<BrokerConfig> {
  const kind = oneOf(env, "BROKER", ["pubsub", "rabbitmq"] as const, "pubsub");
  const timeout = duration(env, "BROKER_TIMEOUT", 10_000);
  const errors = [kind, timeout].flatMap((p) => ("error" in p ? [p.error] : []));
  if (errors.length > 0 || !("value" in kind) || !("value" in timeout)) return { error: errors.join("; ") };
  if (kind.value === "rabbitmq") {
    return { value: { kind: "rabbitmq", url: (str(env, "RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672") as { value: string }).value, timeoutMs: timeout.value } };
  }
  const host = optional(env, "PUBSUB_EMULATOR_HOST") as { value: string | undefined };
  return {
    value: {
      kind: "pubsub",
      projectId: (str(env, "PUBSUB_PROJECT_ID", "hyperfleet-local") as { value: string }).value,
      emulatorHost: host.value,
      timeoutMs: timeout.value,
    },
  };
}
