import type { SubscriptionSpec, Topology } from "./broker.js";

/** Spec §5: a message is dead-lettered after this many delivery attempts. */
export const MAX_DELIVERY_ATTEMPTS = 5;

/** The resource kinds that have a topic. */
export type ResourceKind = "clusters" | "nodepools";

/** `<namespace>-clusters` (spec §5). */
export function topicName(namespace: string, kind: ResourceKind): string {
  return `${namespace}-${kind}`;
}

/** `<topic>-<adapter>`: one subscription per adapter, so every adapter sees every event (fan-out). */
export function subscriptionName(topic: string, adapter: string): string {
  return `${topic}-${adapter}`;
}

/** `<subscription>-dlq`. */
export function deadLetterName(subscription: string): string {
  return `${subscription}-dlq`;
}

/** The subscription of one adapter on one topic, with its dead-letter policy. */
export function subscriptionSpec(topic: string, adapter: string): SubscriptionSpec {
  const name = subscriptionName(topic, adapter);
  return { name, deadLetterTopic: deadLetterName(name), maxDeliveryAttempts: MAX_DELIVERY_ATTEMPTS };
}

/** Everything to provision for a namespace: a topic per kind and a subscription per adapter of that kind. */
export function buildTopology(namespace: string, adapters: Partial<Record<ResourceKind, readonly string[]>>): Topology {
  return {
    topics: (Object.entries(adapters) as [ResourceKind, readonly string[]][]).map(([kind, names]) => {
      const topic = topicName(namespace, kind);
      return { name: topic, subscriptions: names.map((a) => subscriptionSpec(topic, a)) };
    }),
  };
}

/** One topic and a subscription per adapter on it. */
export function topicTopology(topic: string, adapters: readonly string[]): Topology {
  return { topics: [{ name: topic, subscriptions: adapters.map((a) => subscriptionSpec(topic, a)) }] };
}
