import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_RETRY, backoffDelay } from "./backoff.js";
import { faultOf, withTimeout, type Consumer, type ConsumerState, type MessageHandler, type SubscribeOptions, type Verdict } from "./broker.js";

/** One attachment of a consumer to its subscription, made by a backend (pubsub.ts, rabbitmq.ts). */
export interface Attachment {
  /** Stops taking messages: what the broker has not handed to the handler yet goes back to it. */
  stop(): Promise<void>;
  /** Releases the attachment. Called once the handlers in flight have settled, so their acks go out first. */
  close(): Promise<void>;
}

/** What a backend does for a supervised consumer. */
export interface ConsumerBackend {
  /**
   * Attaches to the subscription, handing each message to `run` and settling it with the verdict, at
   * most `maxInFlight` at a time. Rejects when it cannot (MissingError when the subscription does not
   * exist). Calls `lost` when the attachment dies later: the subscription was deleted, the connection
   * closed.
   */
  attach(run: MessageHandler, lost: (err: unknown) => void): Promise<Attachment>;
  /** Resolves when the subscription exists and the broker answers; rejects (MissingError when it is gone). */
  check(): Promise<void>;
}

export interface SuperviseOptions extends SubscribeOptions {
  /** The subscription, in reasons and error contexts. */
  name: string;
  /** Bound on each attach, check, stop and close. */
  timeoutMs: number;
  onError: (err: unknown, context: string) => void;
  now?: () => Date;
  /** In [0, 1), for the backoff's jitter. */
  random?: () => number;
}

interface Current {
  attachment: Attachment;
  /** Settles with why the attachment has to go: lost, a failed check, or CLOSED. */
  tripped: Promise<unknown>;
  trip(why: unknown): void;
}

const CLOSED = Symbol("closed");
const noop = () => undefined;

/**
 * A consumer that stays subscribed: when its attachment is lost (the backend says so) or a periodic
 * check fails, it stops taking messages, lets the handlers in flight finish, and attaches again with
 * capped, jittered backoff, calling `ensure` first to re-create what it owns. Its state says whether
 * it is consuming and why not. Handlers of an old attachment finish before a new one starts, so
 * `maxInFlight` bounds the messages held across reattachments too.
 */
export async function superviseConsumer(backend: ConsumerBackend, handler: MessageHandler, opts: SuperviseOptions): Promise<Consumer> {
  const now = opts.now ?? (() => new Date());
  const random = opts.random ?? Math.random;
  const retry = opts.retry ?? DEFAULT_RETRY;
  const checkEveryMs = opts.checkEveryMs ?? 10_000;
  const bounded = <T>(p: Promise<T>, what: string) => withTimeout(p, opts.timeoutMs, `${what} ${opts.name}`);

  const inFlight = new Set<Promise<unknown>>();
  const run: MessageHandler = (m) => {
    let work: Promise<Verdict>;
    try {
      work = handler(m);
    } catch (err) {
      work = Promise.reject(err);
    }
    inFlight.add(work);
    work.then(() => inFlight.delete(work), () => inFlight.delete(work));
    return work;
  };
  const drain = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };

  let state: ConsumerState = { consuming: false, reason: "not attached yet", since: now(), resubscribes: 0 };
  const setState = (consuming: boolean, why?: unknown) => {
    const reason = consuming ? "" : why === CLOSED ? "closed" : why instanceof Error ? why.message : String(why);
    const fault = consuming || why === CLOSED ? undefined : faultOf(why);
    if (state.consuming === consuming && state.reason === reason) return;
    state = { consuming, reason, fault, since: state.consuming === consuming ? state.since : now(), resubscribes: state.resubscribes };
    opts.onState?.(state);
  };

  const closing = new AbortController();
  let current: Current | undefined;

  const attach = async (): Promise<Current> => {
    let trip!: (why: unknown) => void;
    const tripped = new Promise<unknown>((resolve) => (trip = resolve));
    const attaching = backend.attach(run, trip);
    let attachment: Attachment;
    try {
      attachment = await bounded(attaching, "subscribing to");
    } catch (err) {
      // An attach that answers after its timeout must not go on consuming unsupervised.
      attaching.then((a) => a.stop().then(() => a.close()), noop).catch(noop);
      throw err;
    }
    const cur: Current = { attachment, tripped, trip };
    // Checks run one after another, every checkEveryMs, until the attachment is tripped.
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const schedule = () => {
      timer = setTimeout(() => {
        bounded(backend.check(), "checking subscription").then(() => !done && schedule(), (err) => trip(err));
      }, checkEveryMs);
      timer.unref();
    };
    schedule();
    void tripped.then(() => {
      done = true;
      clearTimeout(timer);
    });
    return cur;
  };

  /** Stops taking messages, waits for the handlers in flight, then lets the attachment go. */
  const release = async (a: Attachment) => {
    await bounded(a.stop(), "stopping consumer of").catch(noop);
    await drain();
    await bounded(a.close(), "closing consumer of").catch(noop);
  };

  /** Attaches again, `ensure` first, until it works or the consumer closes (then undefined). */
  const reattach = async (): Promise<Current | undefined> => {
    for (let attempt = 0; ; attempt++) {
      await sleep(backoffDelay(attempt, retry, random()), undefined, { signal: closing.signal, ref: false }).catch(noop);
      if (closing.signal.aborted) return undefined;
      try {
        if (opts.ensure) await bounded(opts.ensure(), "re-provisioning");
        const next = await attach();
        if (closing.signal.aborted) {
          await release(next.attachment);
          return undefined;
        }
        state = { ...state, resubscribes: state.resubscribes + 1 };
        setState(true);
        return next;
      } catch (err) {
        setState(false, err);
        opts.onError(err, `resubscribe ${opts.name} (attempt ${attempt + 1})`);
      }
    }
  };

  const supervise = async (first: Current) => {
    let cur: Current | undefined = first;
    while (cur) {
      current = cur;
      // close() may have run while this attachment was being made.
      if (closing.signal.aborted) cur.trip(CLOSED);
      const why = await cur.tripped;
      current = undefined;
      if (why !== CLOSED) {
        setState(false, why);
        opts.onError(why, `subscription ${opts.name}`);
      }
      await release(cur.attachment);
      cur = closing.signal.aborted ? undefined : await reattach();
    }
  };

  current = await attach();
  setState(true);
  const supervising = supervise(current);

  return {
    state: () => state,
    async close() {
      closing.abort();
      current?.trip(CLOSED);
      await supervising;
      setState(false, CLOSED);
    },
  };
}
