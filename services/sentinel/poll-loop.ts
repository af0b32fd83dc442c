import type { Logger } from "../shared/log.js";
import type { Publisher } from "../shared/broker/index.js";
import { CLOUDEVENTS_CONTENT_TYPE, encodeReconcileEvent, newReconcileEvent, type ReconcileData } from "../shared/events/index.js";
import { ANSWER_TIME_FACTOR, answerTime, decide, nextAnswerEstimate, published, retryAfterMs, type DecideConfig, type DecisionReason, type LastPublished, type ResourceSnapshot } from "./core/decide.js";
import { admit, DEFAULT_MAX_OUTSTANDING, flowTargetMs, pollIntervalMs, INITIAL_WINDOW, MIN_WINDOW, nextWindow, type Candidate, type FlowConfig } from "./core/flow.js";
import { dueFilter, type ShardRequirement } from "./core/due-query.js";
import type { DueResource, ResourceLister, ResourcePage } from "./resource-lister.js";
import { walkPages } from "./walk-pages.js";

export interface PollConfig extends DecideConfig {
  pollIntervalMs: number;
  /** The most events that may wait for the adapters' answers at once (MAX_OUTSTANDING_EVENTS). */
  maxOutstanding?: number;
  pageSize: number;
  selector: readonly ShardRequirement[];
  topic: string;
}

/**
 * Why a resource was left out of a poll (it is retried the next one): the API could not list it,
 * its row could not be read, decide() failed on it, or its event could not be published.
 */
export type SkipReason = "list" | "read" | "decide" | "publish";

/** Hooks for metrics; every argument is from a closed set. */
export interface PollObserver {
  pollDone(result: "ok" | "error", poll: PollResult, window: number): void;
  published(reason: DecisionReason): void;
  error(stage: "list" | "publish"): void;
  skipped(reason: SkipReason): void;
}

export interface PollDeps {
  lister: ResourceLister;
  publisher: Publisher;
  config: PollConfig;
  log: Logger;
  now: () => Date;
  newId: () => string;
  observer?: PollObserver;
}

/** The outcome of one poll. */
export interface PollResult {
  startedAt: Date;
  seen: number;
  due: number;
  published: number;
  failed: number;
  /** Resources left out of this poll (failed publishes included), each retried the next. */
  skipped: number;
  /** Resources held back because their last event is not answered yet (flow control). */
  awaiting: number;
  /** Due resources left for a later poll because the window of unanswered events was full. */
  held: number;
  /** The listing reached its end and every publish succeeded (resources the API cannot list are skipped, not failures). */
  ok: boolean;
  durationMs: number;
}

export interface PollStats {
  lastSuccessfulPoll?: Date;
  last?: PollResult;
  polls: number;
  published: number;
  errors: number;
  skipped: number;
  lastError?: { message: string; time: Date };
  /** How long the adapters have recently taken to answer an event (all required adapters reported). */
  answerMs?: number;
  /** How many events may wait for answers at once now (flow control). */
  window: number;
  /** Events the watch path published (a change made a resource due), since start. */
  watchPublished: number;
}

/** A due resource and why. */
interface Due extends Candidate {
  r: DueResource;
}

/** Answer-time samples kept between window adjustments: a median of this many is plenty. */
const MAX_SAMPLES = 10_000;

/** Publishes in flight at once within one poll: the broker client batches them; this bounds their memory. */
const PUBLISH_BATCH = 500;

/**
 * The Sentinel's loop: every interval, list the due resources (all pages, one `now` per poll),
 * decide, publish. A failed API call or publish is logged and counted; the next poll retries. No
 * page or resource stops the others: pages that fail are listed smaller, a resource that cannot be
 * listed, read, decided or published is skipped and counted (walk-pages.ts).
 */
export function createPoller(deps: PollDeps) {
  const { config, log } = deps;
  const flow: FlowConfig = { targetMs: flowTargetMs(config.pollIntervalMs), minWindow: MIN_WINDOW, maxWindow: config.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING };
  let window = Math.min(INITIAL_WINDOW, flow.maxWindow);
  const pendingSamples: number[] = [];
  let limitedSinceAdjust = false;
  let lastAdjust = -Infinity;
  const stats: PollStats = { polls: 0, published: 0, errors: 0, skipped: 0, window, watchPublished: 0 };
  /** Resources whose event is being published now (by the watch path or a poll): the other path leaves them alone. */
  const publishing = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<PollResult> | undefined;
  let stopped = true;
  // Soft state only: losing it on restart costs at most one extra event per resource.
  const lastPublished = new Map<string, LastPublished & { sampled?: boolean; lateSampled?: boolean }>();

  const fail = (stage: "list" | "publish", err: unknown, extra: object = {}) => {
    stats.errors++;
    stats.lastError = { message: `${stage}: ${err instanceof Error ? err.message : String(err)}`, time: deps.now() };
    deps.observer?.error(stage);
    log.warn({ stage, err: err instanceof Error ? err.message : String(err), ...extra }, "poll step failed; retrying next poll");
  };

  /** Leaves one resource out of this poll: counted, logged with its id, and retried the next poll. */
  const skip = (result: PollResult, reason: SkipReason, resourceId: string, err: unknown) => {
    result.skipped++;
    stats.skipped++;
    const message = err instanceof Error ? err.message : String(err);
    stats.lastError = { message: `${reason}: skipped ${resourceId}: ${message}`, time: deps.now() };
    deps.observer?.skipped(reason);
    log.warn({ reason, resourceId, err: message }, "resource skipped this poll; retrying next poll");
  };

  /** Publishes one event for `ref`; resolves false (logged, counted) when the broker refuses. */
  async function publishOne(ref: ReconcileData, reason: DecisionReason | "Manual", now: Date, snapshot?: ResourceSnapshot): Promise<string | undefined> {
    const event = newReconcileEvent(ref, deps.newId(), now);
    publishing.set(ref.id, (publishing.get(ref.id) ?? 0) + 1);
    try {
      await deps.publisher.publish(config.topic, { data: encodeReconcileEvent(event), attributes: { "content-type": CLOUDEVENTS_CONTENT_TYPE } });
      stats.published++;
      const last = lastPublished.get(ref.id);
      lastPublished.set(ref.id, snapshot ? published(snapshot, now, last) : { generation: ref.generation, at: now });
      if (reason !== "Manual") deps.observer?.published(reason);
      log.info({ resourceId: ref.id, kind: ref.kind, generation: ref.generation, reason, eventId: event.id }, "reconcile event published");
      return event.id;
    } catch (err) {
      fail("publish", err, { resourceId: ref.id });
      return undefined;
    } finally {
      const n = (publishing.get(ref.id) ?? 1) - 1;
      if (n > 0) publishing.set(ref.id, n);
      else publishing.delete(ref.id);
    }
  }

  /**
   * The answer time retries are based on: the recent estimate, but never less than the window's
   * target, because an event not answered within the target is queued behind others, not lost.
   */
  const answerBasis = () => Math.max(stats.answerMs ?? 0, flow.targetMs);

  /**
   * Samples one answer time into this poll's list (the window). An answer that came (`answered`) also
   * moves the running estimate that retries wait on, capped so a retry never waits longer than the
   * Ready max age; a lower bound (an event presumed lost) does not: a broker that restarted empty
   * loses events without being slow, and counting their waits as answer times lengthened every
   * retry until a chaos run stalled.
   */
  const sample = (samples: number[], ms: number, answered: boolean) => {
    samples.push(ms);
    if (answered) stats.answerMs = nextAnswerEstimate(stats.answerMs, Math.min(ms, config.maxAgeReadyMs / ANSWER_TIME_FACTOR));
  };

  /**
   * Forgets events decide() has no more use for, so memory follows the due resources, not the fleet.
   * A resource a complete poll did not return is not due even without its last event (the API's filter
   * is decide()'s rule), so once RecentlyPublished is over that event was answered (a sample, when it
   * says something about the target) or no longer matters; after an incomplete poll only events past
   * the longest possible wait are dropped.
   */
  function forget(now: Date, seen: Set<string>, complete: boolean, samples: number[]) {
    const longest = 2 * retryAfterMs(config, answerBasis(), Infinity);
    for (const [id, last] of lastPublished) {
      const since = now.getTime() - last.at.getTime();
      if (seen.has(id)) continue;
      if (complete && since >= config.maxAgeNotReadyMs) {
        if (!last.sampled && since <= flow.targetMs) sample(samples, since, true);
        lastPublished.delete(id);
      } else if (since >= longest) lastPublished.delete(id);
    }
  }

  /** Publishes the admitted resources, a bounded number at a time, and counts what became of them. */
  async function publishAll(result: PollResult, admitted: readonly Due[], now: Date) {
    // Decided while its page was read; the watch path may have published it since (a change made
    // during this poll): not again.
    const stillDue = admitted.filter(({ r }) => {
      const last = lastPublished.get(r.ref.id);
      return !publishing.has(r.ref.id) && !(last && last.generation === r.generation && last.at.getTime() >= now.getTime());
    });
    for (let i = 0; i < stillDue.length; i += PUBLISH_BATCH) {
      const batch = stillDue.slice(i, i + PUBLISH_BATCH);
      const ids = await Promise.all(batch.map(({ r, reason }) => publishOne(r.ref, reason, now, r)));
      for (const id of ids) {
        if (id !== undefined) {
          result.published++;
        } else {
          // publishOne has logged and counted the failure; the resource is also a skip.
          result.failed++;
          result.skipped++;
          stats.skipped++;
          deps.observer?.skipped("publish");
        }
      }
    }
  }

  async function pollOnce(): Promise<PollResult> {
    const startedAt = deps.now();
    const result: PollResult = { startedAt, seen: 0, due: 0, published: 0, failed: 0, skipped: 0, awaiting: 0, held: 0, ok: true, durationMs: 0 };
    const filter = dueFilter(startedAt, config, config.selector);
    const seen = new Set<string>();
    const due: Due[] = [];
    const samples: number[] = [];
    /** Resources seen whose last event no longer waits in the adapters' queue: answered, or presumed lost. */
    const settled = new Set<string>();
    /** Decides each resource of a page on its own: one that fails is skipped, the others go on. */
    const handle = async (page: ResourcePage) => {
      result.seen += page.resources.length + page.unreadable.length;
      for (const row of page.unreadable) skip(result, "read", row.id, row.error);
      for (const r of page.resources) {
        if (seen.has(r.ref.id)) continue;
        seen.add(r.ref.id);
        // Its event is on its way (the watch path): this poll would only repeat it.
        if (publishing.has(r.ref.id)) continue;
        try {
          const last = lastPublished.get(r.ref.id);
          const d = decide(r, startedAt, config, last, answerBasis());
          if (last && last.generation === r.generation) {
            const answered = answerTime(r, last);
            const since = startedAt.getTime() - last.at.getTime();
            // Each event gives one sample: when answered, or when presumed lost (unanswered past its
            // retry time, a lower bound of the answer time).
            const took = answered ?? (d.publish ? since : undefined);
            if (took !== undefined) {
              settled.add(r.ref.id);
              if (!last.sampled) sample(samples, took, answered !== undefined);
              last.sampled = true;
            }
          }
          if (d.publish) due.push({ r, reason: d.reason, lastUpdatedTime: r.lastUpdatedTime });
          else if (d.reason === "AwaitingAdapters") result.awaiting++;
        } catch (err) {
          skip(result, "decide", r.ref.id, err);
        }
      }
    };
    const walk = await walkPages(deps.lister, filter, config.pageSize, {
      page: handle,
      listFailed: (err, pageSize) => fail("list", err, { pageSize }),
      unlistable: (id, err) => skip(result, "list", id, err),
    });
    if (!walk.complete) result.ok = false;
    forget(startedAt, seen, walk.complete, samples);
    // The window: events still waiting for answers take their place in it; the rest goes by priority.
    // An event unanswered for twice the target no longer holds its place: it was lost, or its resource
    // is one whose adapters do not all report (a deletion they finished), and the window's samples
    // already say whether the queue is long. Held longer, ten such resources closed a window of ten
    // for the twelve seconds of their retry time again and again (chaos suite).
    // One pass finds both: the events holding their place, and those of them late past the target
    // (each a lower bound of the answer time, sampled once when the window is next adjusted).
    let outstanding = 0;
    const late: { last: { lateSampled?: boolean }; age: number }[] = [];
    for (const [id, last] of lastPublished) {
      const age = startedAt.getTime() - last.at.getTime();
      if (settled.has(id) || age > 2 * flow.targetMs) continue;
      outstanding++;
      if (age > flow.targetMs && !last.lateSampled) late.push({ last, age });
    }
    result.due = due.length;
    // The first event of a new generation goes at once: changes are bounded by the users' writes,
    // and one event per resource. Only repeats wait for room in the window.
    const changes = due.filter((x) => x.reason === "GenerationAhead" && lastPublished.get(x.r.ref.id)?.generation !== x.r.generation);
    const isChange = new Set(changes);
    const repeats = changes.length === 0 ? due : due.filter((x) => !isChange.has(x));
    const { now: admitted, later } = admit(repeats, window - outstanding - changes.length);
    const toPublish = changes.length === 0 ? admitted : changes.concat(admitted);
    result.held = later.length;
    await publishAll(result, toPublish, startedAt);
    // Once per round trip, like a congestion window: samples gather until an answer time has passed.
    // A loop, not a spread: a spread of 130,000 arguments throws (a burst of changes on a large fleet).
    for (const x of samples) if (pendingSamples.length < MAX_SAMPLES) pendingSamples.push(x);
    limitedSinceAdjust ||= later.length > 0;
    if (startedAt.getTime() - lastAdjust >= Math.max(config.pollIntervalMs, stats.answerMs ?? 0)) {
      // Events still unanswered past the target count too, as lower bounds: answers that have not
      // come yet are the first sign of a queue, and leaving them out would see only the fast ones.
      // Each event once, and only while it holds its place (up to twice the target): resources whose
      // adapters never answer must not outvote the answers that come.
      for (const { last, age } of late) {
        if (pendingSamples.length >= MAX_SAMPLES) break;
        pendingSamples.push(age);
        last.lateSampled = true;
      }
      window = nextWindow(window, pendingSamples, limitedSinceAdjust, flow);
      pendingSamples.length = 0;
      limitedSinceAdjust = false;
      lastAdjust = startedAt.getTime();
    }
    stats.window = window;
    if (result.failed > 0) result.ok = false;
    result.durationMs = deps.now().getTime() - startedAt.getTime();
    stats.polls++;
    stats.last = result;
    if (result.ok) stats.lastSuccessfulPoll = startedAt;
    deps.observer?.pollDone(result.ok ? "ok" : "error", result, window);
    log.debug({ ...result }, "poll done");
    return result;
  }

  let interval = config.pollIntervalMs;
  /** The watch streams changes (watch-loop.ts): polls may stretch further while answers are awaited. */
  let watchLive = false;
  let lastStarted = 0;
  /** The interval after the last poll: longer while it left answers awaited (and longer still with a live watch). */
  const nextInterval = (live: boolean) => pollIntervalMs(config.pollIntervalMs, stats.last !== undefined && (stats.last.held > 0 || stats.last.awaiting > 0), stats.answerMs, flow.targetMs, live);
  const schedule = () => {
    timer = setTimeout(loop, Math.max(0, interval - (Date.now() - lastStarted)));
  };
  const loop = async () => {
    lastStarted = Date.now();
    running = pollOnce();
    try {
      await running;
      interval = nextInterval(watchLive);
    } catch (err) {
      // A poll never ends the loop (spec §5: the Sentinel never dies of one): counted, and the next goes on.
      stats.errors++;
      stats.lastError = { message: `poll: ${err instanceof Error ? err.message : String(err)}`, time: deps.now() };
      log.error({ err: err instanceof Error ? err.stack : String(err) }, "poll failed; polling again next interval");
    }
    running = undefined;
    if (!stopped) schedule();
  };

  return {
    pollOnce,
    /**
     * The broker lost every event waiting in it (the topic was gone, so its subscriptions were
     * empty): none is waited for any longer, and every resource still due is published again at
     * once (changes) or as the window allows, instead of after its retry time.
     */
    eventsLost() {
      lastPublished.clear();
    },
    /**
     * The watch path: `r` has just changed. decide() rules as in a poll; only a change (the first event
     * of a new generation, which a poll also sends at once, outside the window) is published here;
     * everything else is the poll's, with its window. Resolves once the event is published (or not:
     * then the next poll finds the resource due again). Returns whether it published.
     */
    async changed(r: DueResource): Promise<boolean> {
      if (publishing.has(r.ref.id)) return false;
      const now = deps.now();
      const last = lastPublished.get(r.ref.id);
      const d = decide(r, now, config, last, answerBasis());
      // What goes at once: a change (the first event of a new generation), or a dependency met.
      const change = d.reason === "GenerationAhead" && last?.generation !== r.generation;
      if (!d.publish || !(change || d.reason === "AdapterBecameAvailable")) return false;
      const id = await publishOne(r.ref, d.reason, now, r);
      if (id === undefined) return false;
      stats.watchPublished++;
      return true;
    },
    /**
     * Whether the watch is live. When it goes, the next poll comes no later than it would have without
     * it: the poll is again the only path.
     */
    setWatchLive(live: boolean) {
      watchLive = live;
      if (live || stopped || running || timer === undefined) return;
      const shorter = nextInterval(false);
      if (shorter >= interval) return;
      interval = shorter;
      clearTimeout(timer);
      schedule();
    },
    /** Publishes an event for one resource now (SentinelService.Reconcile). */
    publishNow: (ref: ReconcileData) => publishOne(ref, "Manual", deps.now()),
    stats: () => stats,
    /** The interval between polls now: POLL_INTERVAL, longer while answers are awaited (flow control), longer still with a live watch. */
    interval: () => interval,
    start() {
      if (!stopped) return;
      stopped = false;
      void loop();
    },
    /** Stops scheduling and waits for a poll in progress. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

export type Poller = ReturnType<typeof createPoller>;
