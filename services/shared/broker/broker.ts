/**
 * The broker seen by the Sentinel and the adapters: publish to a topic, consume a subscription,
 * provision both. Pub/Sub and RabbitMQ implement it; callers never know which one runs.
 */

/** A message to publish; the body is opaque bytes (a structured-mode CloudEvent for us). */
export interface OutgoingMessage {
  data: Buffer;
  attributes?: Record<string, string>;
}

/** A delivered message. `deliveryAttempt` starts at 1 and grows with every redelivery. */
export interface IncomingMessage {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  deliveryAttempt: number;
}

/** What the consumer decided: ack removes the message, nack asks for redelivery (then the dead-letter topic). */
export type Verdict = "ack" | "nack";

export type MessageHandler = (message: IncomingMessage) => Promise<Verdict>;

export interface Publisher {
  /** Resolves with the broker's message id once the broker has the message; rejects after the timeout. */
  publish(topic: string, message: OutgoingMessage): Promise<string>;
}

/** A running consumer; `close` stops pulling and waits for the handlers in flight. */
export interface Consumer {
  close(): Promise<void>;
}

export interface SubscribeOptions {
  /** Messages handled at once. */
  maxInFlight?: number;
}

export interface Subscriber {
  subscribe(subscription: string, handler: MessageHandler, options?: SubscribeOptions): Promise<Consumer>;
}

/** A subscription with its dead-letter policy (spec §5: `<subscription>-dlq` after 5 attempts). */
export interface SubscriptionSpec {
  name: string;
  deadLetterTopic: string;
  maxDeliveryAttempts: number;
}

/** Topics and their subscriptions; provisioning is idempotent. */
export interface Topology {
  topics: { name: string; subscriptions: SubscriptionSpec[] }[];
}

export interface Broker extends Publisher, Subscriber {
  /** Creates what is missing (topics, subscriptions, dead-letter topics and their subscriptions). */
  provision(topology: Topology): Promise<void>;
  close(): Promise<void>;
}

/** Rejects with a timeout error if `p` has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
