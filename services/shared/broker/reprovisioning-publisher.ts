import { MissingError, type Broker, type Publisher, type Topology } from "./broker.js";

export interface ReprovisionHooks {
  /** After each re-provisioning, with its error when it failed. */
  reprovisioned?(err?: unknown): void;
}

/**
 * A publisher that owns `topology`: when a publish finds its topic missing (the broker came back
 * empty, someone deleted the topic) it provisions the topology again, idempotently, and publishes
 * once more. The publishes of one burst that all failed on the same missing topic share one
 * provisioning: a publish that started before the last provisioning finished just tries again.
 */
export function createReprovisioningPublisher(broker: Pick<Broker, "publish" | "provision">, topology: Topology, hooks: ReprovisionHooks = {}): Publisher {
  let provisioning: Promise<void> | undefined;
  /** Counts finished provisionings, so a publish knows whether one ran since it started. */
  let provisioned = 0;

  const reprovision = () => {
    provisioning ??= broker
      .provision(topology)
      .then(
        () => {
          provisioned++;
          hooks.reprovisioned?.();
        },
        (err: unknown) => {
          hooks.reprovisioned?.(err);
          throw err;
        },
      )
      .finally(() => (provisioning = undefined));
    return provisioning;
  };

  return {
    async publish(topic, message) {
      const before = provisioned;
      try {
        return await broker.publish(topic, message);
      } catch (err) {
        if (!(err instanceof MissingError)) throw err;
        if (provisioned === before) await reprovision();
        return broker.publish(topic, message);
      }
    },
  };
}
