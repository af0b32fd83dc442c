import type { IncomingMessage, Verdict } from "../shared/broker/index.js";
import { decodeReconcileEvent } from "../shared/events/index.js";
import type { Logger } from "../shared/log.js";
import type { ReconcileOutcome, ReconcileResult } from "./reconcile.js";

/** What asked for a reconcile: a broker event, or a change to an owned object. */
export type Trigger = "event" | "watch";

/** Every outcome of one message, including the ones that never reach reconcile. */
export type EventOutcome = ReconcileOutcome | "Malformed" | "Failed" | "Coalesced" | "Superseded";

export interface ConsumerStats {
  byOutcome: Partial<Record<EventOutcome, number>>;
  inFlight: number;
  lastError?: { message: string; time: Date };
}

export interface ConsumerDeps {
  /** The kind this adapter reconciles: it names the id in logs (clusterId or nodePoolId). */
  resourceKind: "clusters" | "nodepools";
  reconcile: (resourceId: string) => Promise<ReconcileResult>;
  log: Logger;
  now: () => Date;
  /** Called once per reconcile request with its outcome, duration and what asked for it (metrics). */
  observe?: (outcome: EventOutcome, seconds: number, trigger: Trigger) => void;
  /** How many reconciles asked for by `poke` run at once (default 10). */
  maxPoked?: number;
  /** Called with each broker event's age (now minus the event's time) when it arrives (metrics). */
  observeEventAge?: (seconds: number) => void;
  /**
   * How far the Sentinel's clock may run behind this adapter's (default 1 s): an event older than a
   * successful reconcile of its resource that started since by more than this is Superseded. (A
   * Sentinel behind would make an event look older than a reconcile that in fact ran before it.)
   */
  eventClockSkewMs?: number;
}

/** Resources whose last successful reconcile start is remembered: bounded, oldest forgotten first. */
export const REMEMBERED_RECONCILES = 100_000;

/**
 * Whether an event is covered by a reconcile that already ran: reconcile reads the resource fresh,
 * so one that started after the event was published (with a margin for clock skew) saw at least
 * what the event announces. A backlog of events (a broker redelivering, a Sentinel that published
 * while the adapter was away) then costs a decode each, not a reconcile each.
 */
export function superseded(eventTimeMs: number, lastReconcileStartMs: number | undefined, skewMs: number): boolean {
  return lastReconcileStartMs !== undefined && Number.isFinite(eventTimeMs) && lastReconcileStartMs > eventTimeMs + skewMs;
}

/** Outcomes of a reconcile that did not do its work: logged as warnings, and they supersede nothing. */
const FAILED_OUTCOMES: ReadonlySet<EventOutcome> = new Set(["ApiError", "KubernetesError", "TemplateError", "Failed"]);

/**
 * Turns broker messages into reconciles (spec §6 step 1): a malformed event is nacked (redelivered,
 * then dead-lettered); anything else is acked after processing, because retries come from the
 * Sentinel's next event. Events for one resource run one at a time; different resources run in
 * parallel. Like controller-runtime's work queue, events that arrive for a resource while it is
 * being reconciled collapse into one more reconcile after it: reconcile reads the world fresh, so
 * one run covers them all, and a backlog of events costs one run per resource, not one per event.
 */
export function createEventHandler(deps: ConsumerDeps) {
  const stats: ConsumerStats = { byOutcome: {}, inFlight: 0 };
  /** Per resource: the tail of its runs, and the run queued behind them that new events can join. */
  const queue = new Map<string, { tail: Promise<void>; next?: Promise<ReconcileResult> }>();
  const noop = () => undefined;
  /** Per resource, when its last successful reconcile started (Map order: oldest first). */
  const lastReconciled = new Map<string, number>();
  const skewMs = deps.eventClockSkewMs ?? 1000;
  const remember = (id: string, startedMs: number) => {
    lastReconciled.delete(id);
    lastReconciled.set(id, startedMs);
    if (lastReconciled.size > REMEMBERED_RECONCILES) lastReconciled.delete(lastReconciled.keys().next().value as string);
  };

  const count = (outcome: EventOutcome, started: number, trigger: Trigger = "event") => {
    stats.byOutcome[outcome] = (stats.byOutcome[outcome] ?? 0) + 1;
    deps.observe?.(outcome, (Date.now() - started) / 1000, trigger);
  };

  /** Starts a reconcile of `id` after the ones before it, or joins the one already waiting. */
  const schedule = (id: string): { result: Promise<ReconcileResult>; joined: boolean } => {
    const existing = queue.get(id);
    if (existing?.next) return { result: existing.next, joined: true };
    const entry = existing ?? { tail: Promise.resolve() };
    const result = entry.tail.then(async () => {
      entry.next = undefined;
      const startedMs = deps.now().getTime();
      const r = await deps.reconcile(id);
      if (!FAILED_OUTCOMES.has(r.outcome)) remember(id, startedMs);
      return r;
    });
    if (existing) entry.next = result;
    const tail: Promise<void> = result.then(noop, noop).then(() => {
      if (entry.tail === tail) queue.delete(id);
    });
    entry.tail = tail;
    queue.set(id, entry);
    return { result, joined: false };
  };

  /** Log fields naming the resource: a nodepool by nodePoolId, with its cluster's id once known. */
  const resourceFields = (id: string, parentClusterId: string | undefined): Record<string, string> =>
    deps.resourceKind === "nodepools" ? { nodePoolId: id, ...(parentClusterId ? { clusterId: parentClusterId } : {}) } : { clusterId: id };

  /**
   * One reconcile of `id` through the queue, counted and logged; `context` says what asked for it,
   * `parentClusterId` is a nodepool's cluster when the trigger knows it.
   */
  async function process(id: string, context: { trigger: Trigger } & Record<string, unknown>, started: number, parentClusterId?: string): Promise<void> {
    const trigger = context.trigger;
    stats.inFlight++;
    try {
      const { result: pending, joined } = schedule(id);
      const result = await pending;
      if (joined) {
        count("Coalesced", started, trigger);
        return;
      }
      count(result.outcome, started, trigger);
      if (result.error) stats.lastError = { message: result.error, time: deps.now() };
      const level = FAILED_OUTCOMES.has(result.outcome) ? "warn" : "info";
      deps.log[level]({ ...resourceFields(id, result.clusterId ?? parentClusterId), ...context, outcome: result.outcome, reason: result.reason, steps: result.objects.map((o) => `${o.name}:${o.action}`), error: result.error }, "event processed");
    } catch (err) {
      count("Failed", started, trigger);
      stats.lastError = { message: err instanceof Error ? err.message : String(err), time: deps.now() };
      deps.log.error({ ...resourceFields(id, parentClusterId), ...context, err: err instanceof Error ? err.stack : String(err) }, "event failed");
    } finally {
      stats.inFlight--;
    }
  }

  async function handle(message: IncomingMessage): Promise<Verdict> {
    const started = Date.now();
    const decoded = decodeReconcileEvent(message.data);
    if (!decoded.ok) {
      count("Malformed", started);
      deps.log.warn({ messageId: message.id, error: decoded.error, detail: decoded.detail, deliveryAttempt: message.deliveryAttempt }, "malformed event: nack");
      return "nack";
    }
    const { data, id: eventId } = decoded.event;
    const eventTimeMs = Date.parse(decoded.event.time);
    const nowMs = deps.now().getTime();
    if (Number.isFinite(eventTimeMs)) deps.observeEventAge?.(Math.max(0, nowMs - eventTimeMs) / 1000);
    if (superseded(eventTimeMs, lastReconciled.get(data.id), skewMs)) {
      count("Superseded", started);
      deps.log.debug({ ...resourceFields(data.id, data.owner_references?.id), eventId, generation: data.generation }, "event superseded by a reconcile that started after it");
      return "ack";
    }
    await process(data.id, { trigger: "event", eventId, generation: data.generation }, started, data.owner_references?.id);
    return "ack";
  }

  // Reconciles asked for by something other than the broker (an owned Kubernetes object changed):
  // deduplicated while waiting, and at most `maxPoked` at a time so a burst of changes cannot flood the API.
  const poked = new Map<string, string>();
  const pokesRunning = new Set<Promise<void>>();
  let closed = false;
  const maxPoked = deps.maxPoked ?? 10;
  const drain = () => {
    while (!closed && pokesRunning.size < maxPoked && poked.size > 0) {
      const [id, why] = poked.entries().next().value as [string, string];
      poked.delete(id);
      const run: Promise<void> = process(id, { trigger: "watch", why }, Date.now()).finally(() => {
        pokesRunning.delete(run);
        drain();
      });
      pokesRunning.add(run);
    }
  };
  /** Queues a reconcile of `id` outside any event (like controller-runtime's Owns()); `why` is logged. */
  function poke(id: string, why: string): void {
    if (closed) return;
    if (!poked.has(id)) poked.set(id, why);
    drain();
  }
  /** Shutdown: drops the pokes still waiting (the Sentinel covers them) and waits for the running ones. */
  async function close(): Promise<void> {
    closed = true;
    poked.clear();
    while (pokesRunning.size > 0) await Promise.allSettled([...pokesRunning]);
  }

  return { handle, poke, close, stats: () => stats };
}
