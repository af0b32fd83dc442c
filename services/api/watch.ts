/**
 * WatchClusters and WatchNodePools: each stream pulls the change feed (store/change-feed.ts) from its
 * own resume point whenever the doorbell rings, a page at a time, and only as fast as its client
 * reads. Nothing is buffered per watcher beyond one page: a slow watcher costs no memory, it just
 * receives several changes of a resource as one. One whose token is older than the feed keeps
 * (CHANGE_RETENTION_MS) is told RESYNC and given a full listing.
 *
 * The token protocol: a round starts with a snapshot N of the database, sends every row and removal
 * the watcher's snapshot P does not see, and ends at N. Events inside a round carry P (a stream that
 * breaks mid-round replays that round), its last event carries N. A transaction that commits during
 * the round is not visible to N, so the next round sends it: none is ever skipped.
 */
import { WatchEventType } from "../../gen/hyperfleet/v1/watch_pb.js";
import { ResourceExhaustedError, UnavailableError } from "./core/domain-errors.js";
import type { SqlFragment } from "./core/filter.js";
import { CHANGE_RETENTION_MS, encodeWatchToken, snapshotXmax, tokenExpired, type WatchKind, type WatchToken } from "./core/watch-token.js";
import type { Logger } from "../shared/log.js";
import type { Knex } from "./store/db.js";
import type { ChangeFeed, ChangeCursor, Removed } from "./store/change-feed.js";
import { createLimiter } from "./store/batcher.js";
import type { Page } from "./store/resource-store.js";
import type { RowView, ViewRow } from "./store/rows.js";

/**
 * Rows per page of the feed and of an initial listing, by view: what a stream holds while its client
 * reads it. STATUS rows are a few hundred bytes; a BASIC row carries a spec of up to 64 KiB (the
 * listing's pages are also bounded to 2 MiB by the store).
 */
export const WATCH_PAGE = 500;
export const WATCH_PAGE_BASIC = 50;
export const watchPage = (view: RowView) => (view === "status" ? WATCH_PAGE : WATCH_PAGE_BASIC);
/** A quiet stream gets SYNCED with a fresh token this often (and intermediaries see traffic). */
export const WATCH_HEARTBEAT_MS = 30_000;
/** Each watcher looks at the feed this often even with no doorbell: a lost notification costs at most this. */
export const WATCH_FALLBACK_MS = 5_000;
/** Rounds of one watcher are at least this far apart: under a stream of writes, each round takes many changes. */
export const WATCH_MIN_GAP_MS = 10;
/** Watch streams per API process; more are refused (ResourceExhausted). */
export const MAX_WATCHERS = 1_000;
/**
 * Watch streams one caller (the authenticated identity, or the user a trusted proxy names) may hold on
 * one API process: a Sentinel or `hf watch` needs one; without a cap one caller could take every place.
 */
export const MAX_WATCHERS_PER_CALLER = 100;
/** Feed queries running at once for all watchers: the rest of the API keeps its connections. */
const QUERIES_IN_FLIGHT = 2;
/** Longest a stream waits for a turn at the feed: past it the stream ends Unavailable and its client resumes. */
const QUERY_WAIT_MS = 10_000;

/** Rings when a kind may have changed; watchers wait on it. */
export interface ChangeBell {
  /** How many times `kind` has rung: a watcher remembers it before a round and waits for it to move. */
  count(kind: WatchKind): number;
  /** Resolves once `kind` has rung past `seen`, after `ms`, or when `signal` aborts. */
  wait(kind: WatchKind, seen: number, ms: number, signal: AbortSignal): Promise<void>;
  ring(kind: WatchKind): void;
}

export function createChangeBell(): ChangeBell {
  const counts: Record<WatchKind, number> = { clusters: 0, nodepools: 0 };
  const waiters: Record<WatchKind, Set<() => void>> = { clusters: new Set(), nodepools: new Set() };
  return {
    count: (kind) => counts[kind],
    wait(kind, seen, ms, signal) {
      if (counts[kind] !== seen || signal.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters[kind].delete(done);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        waiters[kind].add(done);
        signal.addEventListener("abort", done, { once: true });
      });
    },
    ring(kind) {
      counts[kind]++;
      for (const w of [...waiters[kind]]) w();
    },
  };
}

/**
 * Calls `changed(kind)` after each of this process's statements that may have changed `kind` (and on
 * every commit): its watchers are rung at once, and other replicas through announceChanges.
 */
export function onLocalWrites(db: Knex, changed: (kind: WatchKind) => void): void {
  db.on("query-response", (_res: unknown, q: { sql?: string }) => {
    const sql = q?.sql ?? "";
    if (!/^\s*(insert|update|delete|commit|with)/i.test(sql)) return;
    // A commit may have made either kind's changes visible.
    const commit = /^\s*commit/i.test(sql);
    if (commit || sql.includes("clusters")) changed("clusters");
    if (commit || sql.includes("nodepools")) changed("nodepools");
  });
}

/** Announcements of one kind are at most this far apart: a burst of writes costs one NOTIFY per interval. */
export const ANNOUNCE_EVERY_MS = 5;

/**
 * Tells the other API replicas (LISTEN, store/change-listener.ts) that `kind` changed: a NOTIFY in a
 * statement of its own, after the write committed and outside its transaction (a transaction that
 * NOTIFYs holds a database-wide lock through its commit), coalesced to one per ANNOUNCE_EVERY_MS.
 * A failed one is dropped: the replicas' watchers look at the feed every few seconds anyway.
 */
export function announceChanges(db: Knex, onError: (err: unknown) => void = () => undefined): (kind: WatchKind) => void {
  const scheduled: Record<WatchKind, boolean> = { clusters: false, nodepools: false };
  return (kind) => {
    if (scheduled[kind]) return;
    scheduled[kind] = true;
    setTimeout(() => {
      scheduled[kind] = false;
      db.raw("select pg_notify('hyperfleet_changes', ?)", [kind]).catch(onError);
    }, ANNOUNCE_EVERY_MS).unref();
  };
}

/** One message of a watch stream, before it is wrapped as WatchClustersResponse or WatchNodePoolsResponse. */
export interface WatchEvent<M> {
  type: WatchEventType;
  resource?: M;
  resumeToken: string;
}

/** A watch request, checked (resource-requests.ts). */
export interface WatchQuery {
  kind: WatchKind;
  where: SqlFragment;
  showDeleted: boolean;
  view: RowView;
  /** The request's resume token, decoded (checkWatch); absent: from now. */
  token?: WatchToken;
  sendInitial: boolean;
  clusterId?: string;
  /** Who watches (for the per-caller cap). */
  caller: string;
}

export interface WatchDeps<M> {
  feed: ChangeFeed;
  bell: ChangeBell;
  log: Logger;
  /** A page of the current resources, as ListClusters/ListNodePools would answer it. */
  list(afterId: string | undefined, q: WatchQuery): Promise<Page<M>>;
  toPb(row: ViewRow): M;
  /** The message a REMOVED event carries: the id (and cluster id). */
  removedPb(r: Removed): M;
}

/** Counts the watchers of the process and bounds their feed queries. */
export function createWatchers(opts: { max?: number; perCaller?: number; onCount?: (kind: WatchKind, n: number) => void } = {}) {
  const max = opts.max ?? MAX_WATCHERS;
  const perCaller = opts.perCaller ?? MAX_WATCHERS_PER_CALLER;
  const limiter = createLimiter(QUERIES_IN_FLIGHT, { maxWaitMs: QUERY_WAIT_MS, expired: () => new UnavailableError("too many watch streams are reading the change feed: resume from the last token") });
  const open: Record<WatchKind, number> = { clusters: 0, nodepools: 0 };
  const byCaller = new Map<string, number>();
  return {
    limiter,
    /** Takes a place for one stream of `caller`, or refuses it; the returned function gives it back. */
    enter(kind: WatchKind, caller: string): () => void {
      if (open.clusters + open.nodepools >= max) throw new ResourceExhaustedError(`this API serves at most ${max} watch streams at once: retry later or on another replica`);
      const mine = byCaller.get(caller) ?? 0;
      if (mine >= perCaller) throw new ResourceExhaustedError(`${caller} holds ${mine} watch streams on this API, the most one caller may: close one (a stream watches every change its filter matches)`);
      byCaller.set(caller, mine + 1);
      open[kind]++;
      opts.onCount?.(kind, open[kind]);
      let left = false;
      return () => {
        if (left) return;
        left = true;
        open[kind]--;
        const n = (byCaller.get(caller) ?? 1) - 1;
        if (n > 0) byCaller.set(caller, n);
        else byCaller.delete(caller);
        opts.onCount?.(kind, open[kind]);
      };
    },
  };
}
export type Watchers = ReturnType<typeof createWatchers>;

/** The stream of one watcher, until its client goes (`signal`). */
export async function* watchStream<M>(deps: WatchDeps<M>, watchers: Watchers, q: WatchQuery, signal: AbortSignal): AsyncGenerator<WatchEvent<M>> {
  let token = q.token;
  const leave = watchers.enter(q.kind, q.caller);
  const run = <T>(fn: () => Promise<T>) => watchers.limiter.run(fn);
  // Snapshots and their times are the database's: every replica agrees on them whatever its own clock.
  const take = async (): Promise<WatchToken> => {
    const { snapshot, nowMs } = await run(() => deps.feed.snapshot());
    return { kind: q.kind, snapshot, issuedMs: nowMs };
  };
  try {
    let initial = !token && q.sendInitial;
    const first = await take();
    // Too old (its removals may be pruned), or from a database whose transactions have not reached it
    // (restored from a backup, or another database): what it missed cannot be told, only listed again.
    if (token && (tokenExpired(token, first.issuedMs) || snapshotXmax(token.snapshot) > snapshotXmax(first.snapshot))) {
      deps.log.info({ kind: q.kind, issued: new Date(token.issuedMs).toISOString(), retentionMs: CHANGE_RETENTION_MS }, "watch resumed from a token this database cannot resume from: resync");
      yield { type: WatchEventType.RESYNC, resumeToken: "" };
      token = undefined;
      initial = true;
    }
    let lastSent = performance.now();
    if (!token) {
      if (initial) {
        let afterId: string | undefined;
        do {
          const page = await run(() => deps.list(afterId, q));
          for (const resource of page.items) yield { type: WatchEventType.CHANGED, resource, resumeToken: "" };
          afterId = page.nextAfterId;
        } while (afterId !== undefined && !signal.aborted);
      }
      token = first;
      yield { type: WatchEventType.SYNCED, resumeToken: encodeWatchToken(token) };
      lastSent = performance.now();
    }
    while (!signal.aborted) {
      const seen = deps.bell.count(q.kind);
      const roundStart = performance.now();
      const next = await take();
      const base = encodeWatchToken(token);
      // One event held back, so that the round's last one can carry its end.
      let held: WatchEvent<M> | undefined;
      for await (const event of roundEvents(deps, q, token.snapshot, run)) {
        if (held) yield { ...held, resumeToken: base };
        held = event;
      }
      if (held) {
        yield { ...held, resumeToken: encodeWatchToken(next) };
        lastSent = performance.now();
      } else if (performance.now() - lastSent >= WATCH_HEARTBEAT_MS) {
        yield { type: WatchEventType.SYNCED, resumeToken: encodeWatchToken(next) };
        lastSent = performance.now();
      }
      token = next;
      const quietFor = Math.max(0, Math.min(WATCH_FALLBACK_MS, WATCH_HEARTBEAT_MS - (performance.now() - lastSent)));
      await deps.bell.wait(q.kind, seen, quietFor, signal);
      const gap = WATCH_MIN_GAP_MS - (performance.now() - roundStart);
      if (gap > 0 && !signal.aborted) await new Promise((r) => setTimeout(r, gap));
    }
  } finally {
    leave();
  }
}

/** Every change the snapshot `since` does not see: rows (CHANGED, or REMOVED when they left the watch), then removals. */
async function* roundEvents<M>(deps: WatchDeps<M>, q: WatchQuery, since: string, run: <T>(fn: () => Promise<T>) => Promise<T>): AsyncGenerator<WatchEvent<M>> {
  let after: ChangeCursor | undefined;
  for (;;) {
    const rows = await run(() => deps.feed.changed({ kind: q.kind, since, after, where: q.where, showDeleted: q.showDeleted, clusterId: q.clusterId, view: q.view, limit: watchPage(q.view) }));
    for (const r of rows) {
      yield r.matches
        ? { type: WatchEventType.CHANGED, resource: deps.toPb(r.row), resumeToken: "" }
        : { type: WatchEventType.REMOVED, resource: deps.removedPb({ id: r.row.id, clusterId: (r.row as { cluster_id?: string }).cluster_id, cursor: r.cursor }), resumeToken: "" };
    }
    if (rows.length < watchPage(q.view)) break;
    after = rows[rows.length - 1].cursor;
  }
  after = undefined;
  for (;;) {
    const removed = await run(() => deps.feed.removed({ kind: q.kind, since, after, clusterId: q.clusterId, limit: WATCH_PAGE }));
    for (const r of removed) yield { type: WatchEventType.REMOVED, resource: deps.removedPb(r), resumeToken: "" };
    if (removed.length < WATCH_PAGE) break;
    after = removed[removed.length - 1].cursor;
  }
}
