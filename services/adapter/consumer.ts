import type { IncomingMessage, Verdict } from "../shared/broker/index.js";
import { decodeReconcileEvent } from "../shared/events/index.js";
import type { Logger } from "../shared/log.js";
import type { ReconcileOutcome, ReconcileResult } from "./reconcile.js";

/** Every outcome of one message, including the ones that never reach reconcile. */
export type EventOutcome = ReconcileOutcome | "Malformed" | "Failed";

export interface ConsumerStats {
  byOutcome: Partial<Record<EventOutcome, number>>;
  inFlight: number;
  lastError?: { message: string; time: Date };
}

export interface ConsumerDeps {
  reconcile: (resourceId: string) => Promise<ReconcileResult>;
  log: Logger;
  now: () => Date;
  /** Called once per message with its outcome and duration (metrics). */
  observe?: (outcome: EventOutcome, seconds: number) => void;
}

/**
 * Turns broker messages into reconciles (spec §6 step 1): a malformed event is nacked (redelivered,
 * then dead-lettered); anything else is acked after processing, because retries come from the
 * Sentinel's next event. Events for one resource run one at a time; different resources run in parallel.
 */
export function createEventHandler(deps: ConsumerDeps) {
  const stats: ConsumerStats = { byOutcome: {}, inFlight: 0 };
  const tails = new Map<string, Promise<unknown>>();

  const count = (outcome: EventOutcome, started: number) => {
    stats.byOutcome[outcome] = (stats.byOutcome[outcome] ?? 0) + 1;
    deps.observe?.(outcome, (Date.now() - started) / 1000);
  };

  /** Runs `fn` after every earlier task for the same key. */
  const serialized = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = tails.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };

  async function handle(message: IncomingMessage): Promise<Verdict> {
    const started = Date.now();
    const decoded = decodeReconcileEvent(message.data);
    if (!decoded.ok) {
      count("Malformed", started);
      deps.log.warn({ messageId: message.id, error: decoded.error, detail: decoded.detail, deliveryAttempt: message.deliveryAttempt }, "malformed event: nack");
      return "nack";
    }
    const { data, id: eventId } = decoded.event;
    stats.inFlight++;
    try {
      const result = await serialized(data.id, () => deps.reconcile(data.id));
      count(result.outcome, started);
      if (result.error) stats.lastError = { message: result.error, time: deps.now() };
      const level = result.outcome === "ApiError" || result.outcome === "KubernetesError" ? "warn" : "info";
      deps.log[level]({ clusterId: data.id, eventId, generation: data.generation, outcome: result.outcome, reason: result.reason, steps: result.objects.map((o) => `${o.name}:${o.action}`), error: result.error }, "event processed");
    } catch (err) {
      count("Failed", started);
      stats.lastError = { message: err instanceof Error ? err.message : String(err), time: deps.now() };
      deps.log.error({ clusterId: data.id, eventId, err: err instanceof Error ? err.stack : String(err) }, "event failed");
    } finally {
      stats.inFlight--;
    }
    return "ack";
  }

  return { handle, stats: () => stats };
}
