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
  /**
   * Resolves with the broker's message id once the broker has the message; rejects after the timeout,
   * and with MissingError when the topic does not exist.
   */
  publish(topic: string, message: OutgoingMessage): Promise<string>;
}

/** Why a consumer is not consuming: its subscription is gone (provisioning cures it), or anything else (the broker is unreachable, the connection closed). */
export type FaultKind = "missing" | "unavailable";

/** Whether a consumer is taking messages now and, when it is not, why. */
export interface ConsumerState {
  consuming: boolean;
  /** Why it is not consuming, for people ("" while it is). */
  reason: string;
  /** The kind of fault, for metrics (unset while consuming). */
  fault?: FaultKind;
  /** When `consuming` last changed. */
  since: Date;
  /** Times it attached again after losing its subscription or connection. */
  resubscribes: number;
}

/**
 * A running consumer. It finds out when its subscription or connection is lost, and attaches again
 * with backoff (re-creating its subscription first when `ensure` is given), until closed.
 */
export interface Consumer {
  /** Stops pulling and waits for the handlers in flight. */
  close(): Promise<void>;
  state(): ConsumerState;
}

/** Waits between attempts: doubling from `initialMs` up to `maxMs`, then jittered (backoff.ts). */
export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
}

export interface SubscribeOptions {
  /**
   * Messages handed to the handler and not yet settled; the broker holds back the rest (Pub/Sub
   * flow control without excess messages, RabbitMQ prefetch). Default 10.
   */
  maxInFlight?: number;
  /** Pub/Sub: bytes of messages the client holds at once (default 10 MiB). RabbitMQ bounds by count only. */
  maxBytes?: number;
  /** Re-creates, idempotently, what the consumer owns (its subscription) before every resubscribe. */
  ensure?: () => Promise<void>;
  /** Called with the new state whenever it changes. */
  onState?: (state: ConsumerState) => void;
  /** Between resubscribe attempts; default 1 s doubling up to 30 s. */
  retry?: RetryPolicy;
  /**
   * How often a consuming subscriber asks the broker whether its subscription still exists (default
   * 10 s). Pub/Sub's streaming pull retries an unreachable broker silently, so only asking finds out.
   */
  checkEveryMs?: number;
}

export interface Subscriber {
  /** Rejects when the first attach fails (the subscription does not exist, the broker is unreachable). */
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

/**
 * The topic, subscription, queue or exchange named does not exist: it was deleted, or the broker came
 * back empty. Provisioning cures it; retrying alone does not.
 */
export class MissingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MissingError";
  }
}

/** "missing" for a MissingError, else "unavailable". */
export function faultOf(err: unknown): FaultKind {
  return err instanceof MissingError ? "missing" : "unavailable";
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
