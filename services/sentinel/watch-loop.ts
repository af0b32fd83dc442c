/**
 * The Sentinel's watch path: streams the API's changes to resources whose generation is ahead of what
 * the adapters observed (and in this Sentinel's shard) and hands each to the poller's changed(), which
 * applies the same decide() as a poll. The poll stays the guarantee: a change the watch misses (it was
 * down, an event failed to publish) is found by the next poll. The stream is opened again with
 * backoff whenever it breaks, resuming from the last token, and given up on (and reopened) when it
 * has been silent past the API's heartbeats.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { WatchEventType } from "../../gen/hyperfleet/v1/watch_pb.js";
import type { Logger } from "../shared/log.js";
import { labelFilter, type ShardRequirement } from "./core/due-query.js";
import type { Poller } from "./poll-loop.js";
import type { ResourceLister } from "./resource-lister.js";

/** Changes being published at once by the watch path; past it the stream waits (and the API with it). */
export const WATCH_PUBLISHES_IN_FLIGHT = 500;
const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;
/**
 * An API that cannot watch (one from before the watch: Unimplemented) or will not let this Sentinel
 * (PermissionDenied) is asked again only this often: retrying every 10 s would only fill the log, and
 * the poll covers every change meanwhile. An upgraded API or a fixed role is picked up within it.
 */
export const WATCH_REFUSED_RETRY_MS = 5 * 60_000;
const REFUSED: ReadonlySet<Code> = new Set([Code.Unimplemented, Code.PermissionDenied]);
/** The API sends SYNCED at least every 30 s: a stream silent for this long is dead (a black-holed connection). */
export const WATCH_SILENCE_MS = 75_000;

/**
 * What the watch filters on: a generation ahead or not Ready (where a change or a dependency met makes
 * a resource due at once), in this Sentinel's shard. Ready resources' reports are the poll's.
 */
export function watchFilter(selector: readonly ShardRequirement[]): string {
  return ["(generation > status.observed_generation or status.phase = 'NotReady')", ...selector.map(labelFilter)].join(" and ");
}

export interface WatchStats {
  live: boolean;
  reconnects: number;
  /** Why the API refused the last attempt (Unimplemented, PermissionDenied), until a stream opens. */
  refused?: string;
  /** The wait before the attempt after the last failure. */
  retryInMs?: number;
}

export interface WatchLoopDeps {
  lister: ResourceLister;
  poller: Poller;
  selector: readonly ShardRequirement[];
  log: Logger;
  onLive?: (live: boolean) => void;
  /** The stream is about to be opened again (it broke or ended). */
  onReconnect?: () => void;
  /** Test hook: how long a silent stream is trusted. */
  silenceMs?: number;
}

export function createWatchLoop(deps: WatchLoopDeps) {
  const stats: WatchStats = { live: false, reconnects: 0 };
  const filter = watchFilter(deps.selector);
  let stopped = true;
  let abort: AbortController | undefined;
  let running: Promise<void> | undefined;
  let wakeBackoff: (() => void) | undefined;
  const setLive = (live: boolean) => {
    if (stats.live === live) return;
    stats.live = live;
    // A stream that opens is the answer to an earlier refusal.
    if (live) stats.refused = undefined;
    deps.onLive?.(live);
  };

  /** Where a reopened stream resumes: the last token received, kept across breaks. */
  let token = "";

  async function consume(): Promise<void> {
    const watch = deps.lister.watch!;
    abort = new AbortController();
    const signal = abort.signal;
    let silence: NodeJS.Timeout | undefined;
    const heard = () => {
      clearTimeout(silence);
      silence = setTimeout(() => abort?.abort(new Error("the watch was silent past the API's heartbeats")), deps.silenceMs ?? WATCH_SILENCE_MS);
      silence.unref();
    };
    heard();
    // Publishes under way, and the reader waiting for one of them to finish (a counter and one waiter:
    // Promise.race over the set would leave a reaction on every pending publish for each message read).
    let inFlight = 0;
    let room: (() => void) | undefined;
    let drained: (() => void) | undefined;
    const finished = () => {
      inFlight--;
      room?.();
      room = undefined;
      if (inFlight === 0) drained?.();
    };
    try {
      for await (const item of watch(filter, token, signal)) {
        heard();
        setLive(true);
        if (item.resumeToken) token = item.resumeToken;
        if (item.type === WatchEventType.SYNCED || item.type === WatchEventType.RESYNC) continue;
        if (item.unreadable) {
          deps.log.warn({ resourceId: item.unreadable.id, err: item.unreadable.error }, "watch: resource could not be read; the poll retries it");
          continue;
        }
        if (!item.resource) continue;
        const id = item.resource.ref.id;
        inFlight++;
        void deps.poller
          .changed(item.resource)
          .catch((err: unknown) => deps.log.warn({ resourceId: id, err: String(err) }, "watch: publishing failed; the poll retries it"))
          .finally(finished);
        // Bounded: past the limit the stream is read no further until publishes finish.
        if (inFlight >= WATCH_PUBLISHES_IN_FLIGHT) await new Promise<void>((r) => (room = r));
      }
    } finally {
      clearTimeout(silence);
      if (inFlight > 0) await new Promise<void>((r) => (drained = r));
    }
  }

  async function loop(): Promise<void> {
    let backoff = MIN_BACKOFF_MS;
    while (!stopped) {
      const opened = Date.now();
      try {
        await consume();
        stats.refused = undefined;
        if (!stopped) deps.log.warn({}, "watch stream ended; opening it again");
      } catch (err) {
        if (stopped) break;
        const refused = err instanceof ConnectError && REFUSED.has(err.code) ? `${Code[err.code]}: ${err.rawMessage}` : undefined;
        if (refused) {
          // Said once as an error (a configuration or version problem), not on every attempt.
          if (stats.refused !== refused) deps.log.error({ err: refused, retryMs: WATCH_REFUSED_RETRY_MS }, "the API refuses this Sentinel's watch; polling only until it accepts");
        } else {
          deps.log.warn({ err: err instanceof Error ? err.message : String(err), retryMs: backoff }, "watch stream broke; the poll covers changes until it is back");
        }
        stats.refused = refused;
      }
      setLive(false);
      if (stopped) break;
      stats.reconnects++;
      deps.onReconnect?.();
      // A stream that lived a while was fine: start the backoff over.
      if (Date.now() - opened > 30_000) backoff = MIN_BACKOFF_MS;
      const wait = stats.refused ? WATCH_REFUSED_RETRY_MS : backoff;
      stats.retryInMs = wait;
      await new Promise<void>((r) => {
        const t = setTimeout(r, wait);
        wakeBackoff = () => {
          clearTimeout(t);
          r();
        };
      });
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    }
  }

  return {
    stats: () => stats,
    start() {
      if (!stopped || !deps.lister.watch) return;
      stopped = false;
      running = loop();
    },
    async stop() {
      stopped = true;
      abort?.abort();
      wakeBackoff?.();
      await running;
      setLive(false);
    },
  };
}

export type WatchLoop = ReturnType<typeof createWatchLoop>;
