import { PubSub, type Message, type Subscription, type Topic } from "@google-cloud/pubsub";
import { withTimeout, type Broker, type Consumer, type MessageHandler, type Topology } from "./broker.js";

export interface PubSubOptions {
  projectId: string;
  /** host:port of the emulator; undefined talks to Google Cloud with application default credentials. */
  emulatorHost?: string;
  /** Bound on every publish and admin call. */
  timeoutMs?: number;
  onError?: (err: unknown, context: string) => void;
}

const ALREADY_EXISTS = 6;

/** Google Pub/Sub (or its emulator) behind the Broker interface. */
export function createPubSubBroker(opts: PubSubOptions): Broker {
  const client = new PubSub({ projectId: opts.projectId, ...(opts.emulatorHost ? { apiEndpoint: opts.emulatorHost, emulatorMode: true } : {}) });
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const gax = { timeout: timeoutMs };
  const topics = new Map<string, Topic>();
  const consumers = new Set<Consumer>();

  const topic = (name: string) => {
    let t = topics.get(name);
    if (!t) {
      // Small batches: the Sentinel publishes bursts and latency matters more than throughput here.
      t = client.topic(name, { batching: { maxMessages: 100, maxMilliseconds: 5 } });
      topics.set(name, t);
    }
    return t;
  };

  const ensure = async (create: () => Promise<unknown>) => {
    try {
      await create();
    } catch (err) {
      if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
    }
  };

  return {
    async provision(topology: Topology) {
      for (const t of topology.topics) {
        await ensure(() => client.createTopic({ name: t.name }, gax));
        for (const s of t.subscriptions) {
          await ensure(() => client.createTopic({ name: s.deadLetterTopic }, gax));
          // Dead letters are kept only if something subscribes to the dead-letter topic.
          await ensure(() => client.topic(s.deadLetterTopic).createSubscription(s.deadLetterTopic, { gaxOpts: gax }));
          const deadLetterPolicy = { deadLetterTopic: client.topic(s.deadLetterTopic).name, maxDeliveryAttempts: s.maxDeliveryAttempts };
          const sub = client.subscription(s.name);
          const [exists] = await sub.exists();
          if (exists) await sub.setMetadata({ deadLetterPolicy }, gax);
          else await ensure(() => client.topic(t.name).createSubscription(s.name, { deadLetterPolicy, ackDeadlineSeconds: 60, gaxOpts: gax }));
        }
      }
    },

    async publish(name, message) {
      return withTimeout(topic(name).publishMessage({ data: message.data, attributes: message.attributes }), timeoutMs, `publish to ${name}`);
    },

    async subscribe(name: string, handler: MessageHandler, options = {}) {
      const sub: Subscription = client.subscription(name, { flowControl: { maxMessages: options.maxInFlight ?? 10, allowExcessMessages: false } });
      const inFlight = new Set<Promise<void>>();
      const onMessage = (m: Message) => {
        const work = handler({ id: m.id, data: m.data, attributes: m.attributes ?? {}, deliveryAttempt: m.deliveryAttempt || 1 })
          .then((verdict) => (verdict === "ack" ? m.ack() : m.nack()))
          .catch(() => m.nack())
          .finally(() => inFlight.delete(work));
        inFlight.add(work);
      };
      sub.on("message", onMessage);
      // The client reconnects its streaming pull by itself; errors are reported, not fatal.
      sub.on("error", (err) => opts.onError?.(err, `subscription ${name}`));
      const consumer: Consumer = {
        async close() {
          // Stop taking messages first (unhandled ones go back when their lease ends), then drain.
          sub.removeListener("message", onMessage);
          while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
          await sub.close();
          consumers.delete(consumer);
        },
      };
      consumers.add(consumer);
      return consumer;
    },

    async close() {
      await Promise.all([...consumers].map((c) => c.close()));
      await Promise.all([...topics.values()].map((t) => t.flush().catch(() => undefined)));
      await client.close();
    },
  };
}
