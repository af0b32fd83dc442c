/** What the adapter's consumer says about itself (shared/broker's ConsumerState, narrowed). */
export interface ConsumerView {
  consuming: boolean;
  /** Why not, when not consuming. */
  reason: string;
  fault?: "missing" | "unavailable";
}

/** Why the adapter is or is not serving: a closed set, for logs and metrics. */
export type HealthReason = "Consuming" | "NotSubscribed" | "SubscriptionMissing" | "BrokerUnavailable" | "Stopped";

export interface AdapterHealth {
  serving: boolean;
  reason: HealthReason;
  /** For people: the consumer's own words. */
  message: string;
}

/**
 * An adapter serves while it takes events from its subscription. One that is not consuming is
 * NOT_SERVING even though its RPCs answer, since nothing it is meant to do happens: that is what a
 * probe or an operator has to see.
 */
export function adapterHealth(consumer: ConsumerView | undefined): AdapterHealth {
  if (consumer === undefined) return { serving: false, reason: "NotSubscribed", message: "not subscribed yet" };
  if (consumer.consuming) return { serving: true, reason: "Consuming", message: "" };
  const reason: HealthReason = consumer.fault === "missing" ? "SubscriptionMissing" : consumer.fault === "unavailable" ? "BrokerUnavailable" : "Stopped";
  return { serving: false, reason, message: consumer.reason || "not consuming" };
}
