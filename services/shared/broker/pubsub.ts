import { Duration, PubSub, type ClientConfig, type Message, type Topic } from "@google-cloud/pubsub";
import { MissingError, withTimeout, type Broker, type Consumer, type MessageHandler, type SubscribeOptions, type Topology } from "./broker.js";
import { PUBSUB_DELETED_TOPIC, pubsubMissing } from "./faults.js";
import { superviseConsumer, type Attachment, type ConsumerBackend } from "./supervise-consumer.js";

export interface PubSubOptions {
  projectId: string;
  /** host:port of the emulator; undefined talks to Google Cloud with application default credentials. */
  emulatorHost?: string;
  /** Bound on every publish and admin call. */
  timeoutMs?: number;
  onError?: (err: unknown, context: string) => void;
}

const ALREADY_EXISTS = 6;
/** Default SubscribeOptions.maxBytes: far above what maxInFlight small events weigh, far below the heap. */
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

/** Google Pub/Sub (or its emulator) behind the Broker interface. */
export function createPubSubBroker(opts: PubSubOptions): Broker {
  // gRPC waits up to 120 s between reconnects by default: a broker back after a long outage would go
  // unused for that long. 5 s bounds it; the supervisor's own backoff paces everything else.
  const channel: Record<string, number> = { "grpc.max_reconnect_backoff_ms": 5000 };
  const config: ClientConfig = {
    projectId: opts.projectId,
    ...(opts.emulatorHost ? { apiEndpoint: opts.emulatorHost, emulatorMode: true } : {}),
    ...channel,
  };
  const client = new PubSub(config);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const onError = opts.onError ?? (() => undefined);
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

  /** The subscription's topic, or undefined when the subscription does not exist. */
  const subscriptionTopic = async (name: string): Promise<string | undefined> => {
    try {
      const [meta] = await client.subscription(name).getMetadata(gax);
      return meta.topic ?? "";
    } catch (err) {
      if (pubsubMissing(err)) return undefined;
      throw err;
    }
  };

  /** Resolves when the subscription exists and still has its topic; MissingError otherwise. */
  const check = async (name: string) => {
    const t = await subscriptionTopic(name);
    if (t === undefined) throw new MissingError(`subscription ${name} does not exist`);
    if (t === PUBSUB_DELETED_TOPIC) throw new MissingError(`subscription ${name} lost its topic (the topic was deleted)`);
  };

  /** One streaming pull on `name`, flow-controlled to `maxInFlight` messages and `maxBytes`. */
  const attach = async (name: string, options: SubscribeOptions, run: MessageHandler, lost: (err: unknown) => void): Promise<Attachment> => {
    // The streaming pull reports a missing subscription only after it opened; asking first makes attach fail at once.
    await check(name);
    const sub = client.subscription(name, {
      // Without excess messages the client hands out at most maxMessages and holds back (and stops
      // reading) the rest, so memory stays bounded however many events are queued.
      flowControl: { maxMessages: options.maxInFlight ?? 10, maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES, allowExcessMessages: false },
      // The stream's ack deadline stays the client's (10 s to start): it also bounds how long the messages
      // of an adapter killed while holding them wait for redelivery. 60 s cut the emulator's redeliveries
      // under a 10,000-cluster flood (3.5 deliveries per event → 1-2.2) but made the chaos suite's fleet
      // converge 59 s after its faults instead of 8 (docs/decisions/performance.md).
      // One stream is plenty for tens of messages in flight, and holds one stream's batch, not five.
      streamingOptions: { maxStreams: 1 },
      // A slot frees only once its ack reaches the broker: acks batched for the default 100 ms capped an
      // adapter at about 95 events/s with 10 in flight (emulator, 10,000 queued); 10 ms gave about 650.
      batching: { maxMilliseconds: 10 },
      // Close waits for the handlers' acks instead of nacking the messages they are working on.
      closeOptions: { behavior: "WAIT", timeout: Duration.from({ milliseconds: Math.max(timeoutMs, 60_000) }) },
    });
    let stopped = false;
    let lastError: unknown;
    const missing = (err: unknown) => new MissingError(`subscription ${name} does not exist: ${(err as Error).message}`, { cause: err });
    sub.on("message", (m: Message) => {
      // Stopped: hand it back at once rather than start work that a new attachment may duplicate.
      if (stopped) return m.nack();
      run({ id: m.id, data: m.data, attributes: m.attributes ?? {}, deliveryAttempt: m.deliveryAttempt || 1 }).then(
        (verdict) => (verdict === "ack" ? m.ack() : m.nack()),
        () => m.nack(),
      );
    });
    // The client retries an unreachable broker by itself; what reaches here is reported, and a stream
    // that ends for good (NOT_FOUND, say) closes the subscriber, which is the loss.
    sub.on("error", (err) => {
      lastError = err;
      if (pubsubMissing(err)) lost(missing(err));
      else onError(err, `subscription ${name}`);
    });
    sub.on("close", () => {
      if (stopped) return;
      lost(lastError === undefined ? new Error(`subscription ${name}: the streaming pull ended`) : pubsubMissing(lastError) ? missing(lastError) : lastError);
    });
    let closing: Promise<void> | undefined;
    // The stream ends at once; the promise settles once the handlers' acks are flushed.
    const closeOnce = () => (closing ??= sub.close().catch((err) => onError(err, `closing subscription ${name}`)));
    return {
      async stop() {
        stopped = true;
        void closeOnce();
      },
      async close() {
        stopped = true;
        await closeOnce();
        sub.removeAllListeners();
      },
    };
  };

  return {
    async provision(topology: Topology) {
      for (const t of topology.topics) {
        await ensure(() => client.createTopic({ name: t.name }, gax));
        for (const s of t.subscriptions) {
          await ensure(() => client.createTopic({ name: s.deadLetterTopic }, gax));
          // Dead letters are kept only if something subscribes to the dead-letter topic.
          await ensureSubscription(s.deadLetterTopic, s.deadLetterTopic, {});
          const deadLetterPolicy = { deadLetterTopic: client.topic(s.deadLetterTopic).name, maxDeliveryAttempts: s.maxDeliveryAttempts };
          const existed = await ensureSubscription(s.name, t.name, { deadLetterPolicy, ackDeadlineSeconds: 60 });
          if (existed) await client.subscription(s.name).setMetadata({ deadLetterPolicy }, gax);
        }
      }
    },

    async publish(name, message) {
      try {
        return await withTimeout(topic(name).publishMessage({ data: message.data, attributes: message.attributes }), timeoutMs, `publish to ${name}`);
      } catch (err) {
        throw pubsubMissing(err) ? new MissingError(`topic ${name} does not exist`, { cause: err }) : err;
      }
    },

    async subscribe(name: string, handler: MessageHandler, options = {}) {
      const backend: ConsumerBackend = { attach: (run, lost) => attach(name, options, run, lost), check: () => check(name) };
      const consumer = await superviseConsumer(backend, handler, { ...options, name, timeoutMs, onError });
      const tracked: Consumer = {
        state: () => consumer.state(),
        async close() {
          await consumer.close();
          consumers.delete(tracked);
        },
      };
      consumers.add(tracked);
      return tracked;
    },

    async close() {
      await Promise.all([...consumers].map((c) => c.close()));
      await Promise.all([...topics.values()].map((t) => t.flush().catch(() => undefined)));
      await client.close();
    },
  };

  /**
   * Creates subscription `name` on `topicName` unless it exists and still has a topic; resolves true
   * when it existed. One whose topic was deleted receives nothing, even from a new topic of the same
   * name, so it is deleted and created again.
   */
  async function ensureSubscription(name: string, topicName: string, settings: object): Promise<boolean> {
    const current = await subscriptionTopic(name);
    if (current !== undefined && current !== PUBSUB_DELETED_TOPIC) return true;
    if (current === PUBSUB_DELETED_TOPIC) await client.subscription(name).delete(gax);
    await ensure(() => client.topic(topicName).createSubscription(name, { ...settings, gaxOpts: gax }));
    return false;
  }
}
