import type { Logger } from "../shared/log.js";
import type { Publisher } from "../shared/broker/index.js";
import { CLOUDEVENTS_CONTENT_TYPE, encodeReconcileEvent, newReconcileEvent, type ReconcileData } from "../shared/events/index.js";
import { decide, UNANSWERED_RETRY_FACTOR, type DecideConfig, type DecisionReason, type LastPublished } from "./core/decide.js";
import { dueFilter, type ShardRequirement } from "./core/due-query.js";
import type { ResourceLister, ResourcePage } from "./resource-lister.js";
import { walkPages } from "./walk-pages.js";

export interface PollConfig extends DecideConfig {
  pollIntervalMs: number;
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
  pollDone(result: "ok" | "error", seconds: number, due: number, seen: number): void;
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
}

/**
 * The Sentinel's loop: every interval, list the due resources (all pages, one `now` per poll),
 * decide, publish. A failed API call or publish is logged and counted; the next poll retries. No
 * page or resource stops the others: pages that fail are listed smaller, a resource that cannot be
 * listed, read, decided or published is skipped and counted (walk-pages.ts).
 */
export function createPoller(deps: PollDeps) {
  const { config, log } = deps;
  const stats: PollStats = { polls: 0, published: 0, errors: 0, skipped: 0 };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<PollResult> | undefined;
  let stopped = true;
  // Soft state only: losing it on restart costs at most one extra event per resource.
  const lastPublished = new Map<string, LastPublished>();

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
  async function publishOne(ref: ReconcileData, reason: DecisionReason | "Manual", now: Date): Promise<string | undefined> {
    const event = newReconcileEvent(ref, deps.newId(), now);
    try {
      await deps.publisher.publish(config.topic, { data: encodeReconcileEvent(event), attributes: { "content-type": CLOUDEVENTS_CONTENT_TYPE } });
      stats.published++;
      lastPublished.set(ref.id, { generation: ref.generation, at: now });
      if (reason !== "Manual") deps.observer?.published(reason);
      log.info({ resourceId: ref.id, kind: ref.kind, generation: ref.generation, reason, eventId: event.id }, "reconcile event published");
      return event.id;
    } catch (err) {
      fail("publish", err, { resourceId: ref.id });
      return undefined;
    }
  }

  async function pollOnce(): Promise<PollResult> {
    const startedAt = deps.now();
    const result: PollResult = { startedAt, seen: 0, due: 0, published: 0, failed: 0, skipped: 0, ok: true, durationMs: 0 };
    const filter = dueFilter(startedAt, config, config.selector);
    const seen = new Set<string>();
    // Forget events once decide() no longer looks at them (the unanswered-retry horizon).
    for (const [id, last] of lastPublished) {
      if (startedAt.getTime() - last.at.getTime() >= config.maxAgeNotReadyMs * UNANSWERED_RETRY_FACTOR) lastPublished.delete(id);
    }
    /** Decides and publishes each resource of a page on its own: one that fails is skipped, the others go on. */
    const handle = async (page: ResourcePage) => {
      result.seen += page.resources.length + page.unreadable.length;
      for (const row of page.unreadable) skip(result, "read", row.id, row.error);
      const due: { r: ResourcePage["resources"][number]; d: ReturnType<typeof decide> }[] = [];
      for (const r of page.resources) {
        if (seen.has(r.ref.id)) continue;
        seen.add(r.ref.id);
        try {
          const d = decide(r, startedAt, config, lastPublished.get(r.ref.id));
          if (d.publish) due.push({ r, d });
        } catch (err) {
          skip(result, "decide", r.ref.id, err);
        }
      }
      result.due += due.length;
      const ids = await Promise.all(due.map(({ r, d }) => publishOne(r.ref, d.reason, startedAt)));
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
    };
    const walk = await walkPages(deps.lister, filter, config.pageSize, {
      page: handle,
      listFailed: (err, pageSize) => fail("list", err, { pageSize }),
      unlistable: (id, err) => skip(result, "list", id, err),
    });
    if (!walk.complete) result.ok = false;
    if (result.failed > 0) result.ok = false;
    result.durationMs = deps.now().getTime() - startedAt.getTime();
    stats.polls++;
    stats.last = result;
    if (result.ok) stats.lastSuccessfulPoll = startedAt;
    deps.observer?.pollDone(result.ok ? "ok" : "error", result.durationMs / 1000, result.due, result.seen);
    log.debug({ ...result }, "poll done");
    return result;
  }

  const loop = async () => {
    const started = Date.now();
    running = pollOnce();
    await running;
    running = undefined;
    if (!stopped) timer = setTimeout(loop, Math.max(0, config.pollIntervalMs - (Date.now() - started)));
  };

  return {
    pollOnce,
    /** Publishes an event for one resource now (SentinelService.Reconcile). */
    publishNow: (ref: ReconcileData) => publishOne(ref, "Manual", deps.now()),
    stats: () => stats,
    start() {
      if (!stopped) return;
      stopped = false;
      void loop();
    },
    /** Stops scheduling and waits for a poll in progress. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export type Poller = ReturnType<typeof createPoller>;
