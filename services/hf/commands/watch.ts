import { parseArgs } from "node:util";
import { equals } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseDuration } from "../../shared/config.js";
import { recycledWatch } from "../../shared/recycled-watch.js";
import { ClusterSchema, type Cluster, type WatchClustersResponse } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { ResourceView } from "../../../gen/hyperfleet/v1/resource_status_pb.js";
import type { AdapterStatus } from "../../../gen/hyperfleet/v1/status_pb.js";
import { WatchEventType } from "../../../gen/hyperfleet/v1/watch_pb.js";
import { UsageError, type CliContext } from "../cli-context.js";
import { watchTable } from "../render/clusters.js";
import { renderTable } from "../render/table.js";

export const WATCH_USAGE = "hf watch [--filter EXPR] [--interval 1s] [--once]";

/** Redraws at most this often: a burst of changes becomes one redraw. */
export const RENDER_GAP_MS = 100;
/** While adapter statuses are being fetched a redraw waits for them, but no longer than this after the last. */
const RENDER_MAX_WAIT_MS = 1_000;
/** GetCluster (FULL view) calls in flight at once, for the adapter columns of clusters that changed. */
export const FETCHES_IN_FLIGHT = 8;
/** Reconnecting: the first wait, doubled per failed attempt up to the last. */
export const RECONNECT_MIN_MS = 250;
export const RECONNECT_MAX_MS = 5_000;
/** A stream that delivered a message or stayed open this long counted as connected: the next break is a new outage. */
const CONNECTED_AFTER_MS = 1_000;
/** The API sends SYNCED at least every 30 s on a quiet stream: a stream silent this long is dead, and reopened. */
const SILENT_MS = 75_000;
/** Errors a new attempt would meet again: printed, exit 1. */
const PERMANENT = new Set([Code.InvalidArgument, Code.PermissionDenied, Code.Unauthenticated, Code.Unimplemented, Code.FailedPrecondition, Code.OutOfRange, Code.NotFound, Code.AlreadyExists]);

/**
 * `hf watch`: a live table of clusters and their adapters, redrawn in place on a TTY (elsewhere printed
 * whenever it changes). The clusters come from one WatchClusters stream (send_initial, then each change
 * as it happens); the adapter columns from GetCluster's FULL view, fetched only for clusters that
 * changed. A broken stream is reopened with backoff from the last resume token, so nothing is missed.
 * --interval is how often the screen is redrawn to move the clock and ages on; it makes no calls.
 */
export async function watchCommand(ctx: CliContext, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { filter: { type: "string" }, interval: { type: "string" }, once: { type: "boolean" } } });
  const intervalMs = parseDuration(values.interval ?? "1s");
  if (intervalMs === undefined) throw new UsageError("--interval: a duration like 500ms or 2s");
  const once = values.once === true;

  // Ends the stream, the fetches and the redraws: Ctrl-C, --once done, or an error worth exiting for.
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  if (ctx.signal?.aborted) return;
  ctx.signal?.addEventListener("abort", interrupt, { once: true });
  let fatal: { err: unknown } | undefined;
  const fail = (err: unknown) => {
    fatal ??= { err };
    stop.abort();
  };

  const clusters = new Map<string, Cluster>();
  const statuses = new Map<string, AdapterStatus[]>();
  /** The first SYNCED has come: the listing is complete and the table may be drawn. */
  let synced = false;
  /** During a RESYNC (or a listing started over): what the new listing has not yet sent again. */
  let stale: Set<string> | undefined;

  // --- Adapter statuses: fetched for clusters that changed, a few at a time. ---
  const queued = new Set<string>();
  const inFlight = new Set<string>();
  /** Changed again while being fetched: fetched once more after. */
  const again = new Set<string>();
  /** Fetches that failed (the API restarting): tried again with backoff. */
  const failed = new Set<string>();
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelay = RECONNECT_MIN_MS;
  const busy = () => queued.size > 0 || inFlight.size > 0;
  const want = (id: string) => {
    failed.delete(id);
    if (inFlight.has(id)) again.add(id);
    else queued.add(id);
    pump();
  };
  const pump = () => {
    for (const id of queued) {
      if (inFlight.size >= FETCHES_IN_FLIGHT || stop.signal.aborted) return;
      queued.delete(id);
      if (!clusters.has(id)) continue;
      inFlight.add(id);
      void fetchStatuses(id).finally(() => {
        inFlight.delete(id);
        if (again.delete(id)) queued.add(id);
        pump();
        schedule();
      });
    }
  };
  const fetchStatuses = async (id: string) => {
    try {
      const c = await ctx.api.clusters.getCluster({ id, view: ResourceView.FULL }, { signal: stop.signal });
      retryDelay = RECONNECT_MIN_MS;
      if (clusters.has(id)) statuses.set(id, c.adapterStatuses);
    } catch (err) {
      if (stop.signal.aborted) return;
      const code = ConnectError.from(err).code;
      // Gone since it changed: its REMOVED is on its way.
      if (code === Code.NotFound) return void statuses.delete(id);
      if (once || PERMANENT.has(code)) return fail(err);
      failed.add(id);
      retryTimer ??= setTimeout(() => {
        retryTimer = undefined;
        for (const f of [...failed]) want(f);
      }, retryDelay);
      retryDelay = Math.min(RECONNECT_MAX_MS, retryDelay * 2);
    }
  };

  // --- Drawing: debounced, and after the adapter columns of what changed, unless they take long. ---
  let last = "";
  let drawnAt: number | undefined;
  let drawTimer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (drawTimer || stop.signal.aborted) return;
    drawTimer = setTimeout(draw, Math.max(0, (drawnAt ?? 0) + RENDER_GAP_MS - Date.now()));
  };
  const draw = () => {
    drawTimer = undefined;
    if (!synced || stop.signal.aborted) return;
    if (busy()) {
      // The fetches' completion schedules the draw; a first table is never drawn half-filled.
      if (drawnAt === undefined) return;
      const wait = drawnAt + RENDER_MAX_WAIT_MS - Date.now();
      if (wait > 0) return void (drawTimer = setTimeout(draw, wait));
    }
    drawnAt = Date.now();
    const list = [...clusters.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const t = watchTable(list, statuses, ctx.now());
    const text = list.length ? renderTable(t.columns, t.rows, { color: ctx.color }) : "no clusters yet";
    if (ctx.isTTY) ctx.out(`\x1b[H\x1b[2J${ctx.now().toISOString()}  (Ctrl-C to stop)\n\n${text}`);
    else if (text !== last) ctx.out(`${text}\n`);
    last = text;
    if (once) stop.abort();
  };
  const tick = once ? undefined : setInterval(schedule, Math.max(intervalMs, RENDER_GAP_MS));

  // --- The stream. ---
  const apply = (e: WatchClustersResponse) => {
    switch (e.type) {
      case WatchEventType.CHANGED: {
        const c = e.cluster;
        if (!c) return;
        const old = clusters.get(c.id);
        stale?.delete(c.id);
        // A listing sent again (RESYNC, a reconnect mid-listing) repeats what is held: nothing to fetch or draw.
        if (old && equals(ClusterSchema, old, c)) return;
        clusters.set(c.id, c);
        want(c.id);
        break;
      }
      case WatchEventType.REMOVED:
        if (!e.cluster) return;
        stale?.delete(e.cluster.id);
        clusters.delete(e.cluster.id);
        statuses.delete(e.cluster.id);
        break;
      case WatchEventType.RESYNC:
        stale = new Set(clusters.keys());
        return;
      case WatchEventType.SYNCED:
        for (const id of stale ?? []) {
          clusters.delete(id);
          statuses.delete(id);
        }
        stale = undefined;
        synced = true;
        break;
      default:
        return;
    }
    schedule();
  };

  const streamLoop = async () => {
    let token = "";
    let delay = RECONNECT_MIN_MS;
    /** A stream has been open: a failure to reconnect is retried, where a failure to connect at all is not. */
    let established = false;
    /** The current outage has been announced on stderr. */
    let announced = false;
    while (!stop.signal.aborted) {
      // Without a token the listing starts over: what it does not send again is gone.
      if (!token && clusters.size > 0) stale = new Set(clusters.keys());
      const openedAt = Date.now();
      let connected = false;
      const up = () => {
        if (connected) return;
        connected = established = true;
        announced = false;
        delay = RECONNECT_MIN_MS;
      };
      let why: string;
      // A stream that goes silent for longer than the API's heartbeat allows is dead (a network that drops packets).
      const attempt = new AbortController();
      let silent: NodeJS.Timeout | undefined;
      const watchdog = () => {
        clearTimeout(silent);
        silent = setTimeout(() => attempt.abort(), SILENT_MS);
      };
      try {
        watchdog();
        const signal = AbortSignal.any([stop.signal, attempt.signal]);
        const open = (resumeToken: string) => ctx.api.clusters.watchClusters({ filter: values.filter ?? "", showDeleted: true, resumeToken, sendInitial: !resumeToken }, { signal, timeoutMs: 0 });
        const stream = recycledWatch(open, token);
        for await (const e of stream) {
          watchdog();
          up();
          if (e.resumeToken) token = e.resumeToken;
          apply(e);
        }
        why = "the API ended the stream";
      } catch (err) {
        if (stop.signal.aborted) return;
        const ce = attempt.signal.aborted ? new ConnectError(`nothing received in ${SILENT_MS / 1000}s`, Code.Unavailable) : streamError(err);
        if (PERMANENT.has(ce.code) || !established) throw ce;
        why = `${Code[ce.code]}: ${ce.rawMessage}`;
      } finally {
        clearTimeout(silent);
      }
      if (stop.signal.aborted) return;
      if (!established) throw new ConnectError(why, Code.Unavailable);
      // A resumed stream on a quiet API sends nothing for a while: staying open counts as connected.
      if (Date.now() - openedAt >= CONNECTED_AFTER_MS) up();
      if (!announced) {
        announced = true;
        ctx.err(`hf watch: lost the stream (${why}); reconnecting with backoff up to ${RECONNECT_MAX_MS / 1000}s, resuming where it left off`);
      }
      if (!(await pause(delay, stop.signal))) return;
      delay = Math.min(RECONNECT_MAX_MS, delay * 2);
    }
  };

  try {
    await streamLoop();
  } catch (err) {
    fail(err);
  } finally {
    stop.abort();
    ctx.signal?.removeEventListener("abort", interrupt);
    clearInterval(tick);
    clearTimeout(drawTimer);
    clearTimeout(retryTimer);
  }
  if (fatal) throw fatal.err;
}

const NETWORK_ERRORS = /\b(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ERR_HTTP2_GOAWAY_SESSION|ERR_HTTP2_SESSION_ERROR)\b/;

/**
 * A stream's error as a ConnectError. connect-node's streaming transport reports a refused or reset
 * connection as Internal ("Error: connect ECONNREFUSED …"), where the unary calls say Unavailable:
 * made Unavailable here too, so that it is retried and printed with the same hint.
 */
function streamError(err: unknown): ConnectError {
  const ce = ConnectError.from(err);
  if (ce.code !== Code.Internal && ce.code !== Code.Unknown) return ce;
  for (let e: unknown = err; e instanceof Error; e = e.cause === e ? undefined : e.cause) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((typeof code === "string" && NETWORK_ERRORS.test(code)) || NETWORK_ERRORS.test(e.message)) {
      return new ConnectError(ce.rawMessage.replace(/^Error: /, ""), Code.Unavailable, undefined, undefined, err);
    }
  }
  return ce;
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const done = () => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal.removeEventListener("abort", done);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
