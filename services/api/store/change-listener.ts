/**
 * LISTENs on `hyperfleet_changes` (sent by every replica after its writes commit: announceChanges in
 * watch.ts) on a connection of its own and rings the
 * watch bell for the kind named, so that every replica's watchers hear every replica's writes. The
 * connection is opened again with backoff whenever it drops, and the bell rung on every (re)connect:
 * notifications sent while it was down are lost, the changes are not (watchers read the feed).
 */
import pg from "pg";
import type { Logger } from "../../shared/log.js";
import type { ChangeBell } from "../watch.js";

export const CHANGES_CHANNEL = "hyperfleet_changes";
const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;
/** The LISTEN connection is asked `select 1` this often; no answer within PING_TIMEOUT_MS and it is opened again (a half-open TCP link is otherwise found only by keepalive, minutes later). */
const PING_EVERY_MS = 15_000;
const PING_TIMEOUT_MS = 5_000;

export interface ChangeListener {
  /** Whether the LISTEN connection is up now. */
  live(): boolean;
  close(): Promise<void>;
}

export function listenForChanges(url: string, bell: ChangeBell, log: Logger, opts: { connectTimeoutMs?: number; keepAliveDelayMs?: number } = {}): ChangeListener {
  let client: pg.Client | undefined;
  let closed = false;
  let up = false;
  let backoff = MIN_BACKOFF_MS;
  let timer: NodeJS.Timeout | undefined;
  let pinger: NodeJS.Timeout | undefined;
  const ringAll = () => {
    bell.ring("clusters");
    bell.ring("nodepools");
  };
  const again = (why: string) => {
    clearInterval(pinger);
    if (closed || timer) return;
    if (up) log.warn({ err: why, retryMs: backoff }, "change notifications lost: listening again (watchers fall back to reading the feed every few seconds)");
    up = false;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, backoff);
    timer.unref();
    backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
  };
  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: opts.connectTimeoutMs ?? 3_000, keepAlive: true, keepAliveInitialDelayMillis: opts.keepAliveDelayMs ?? 10_000, application_name: "hyperfleet-api-changes" });
    client = c;
    c.on("notification", (n) => {
      if (n.payload === "clusters" || n.payload === "nodepools") bell.ring(n.payload);
    });
    c.on("error", (err) => again(String(err)));
    c.on("end", () => again("connection ended"));
    try {
      await c.connect();
      await c.query(`listen ${CHANGES_CHANNEL}`);
      if (closed) return void (await c.end().catch(() => undefined));
      up = true;
      backoff = MIN_BACKOFF_MS;
      pinger = setInterval(() => {
        const late = setTimeout(() => {
          c.removeAllListeners("end");
          void c.end().catch(() => undefined);
          again("the LISTEN connection did not answer a ping");
        }, PING_TIMEOUT_MS);
        c.query("select 1").then(() => clearTimeout(late), (err: unknown) => {
          clearTimeout(late);
          again(String(err));
        });
      }, PING_EVERY_MS);
      pinger.unref();
      log.info({ channel: CHANGES_CHANNEL }, "listening for changes");
      ringAll();
    } catch (err) {
      c.removeAllListeners("end");
      await c.end().catch(() => undefined);
      again(String(err));
    }
  }
  void connect();
  return {
    live: () => up,
    async close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(pinger);
      const c = client;
      client = undefined;
      if (c) {
        c.removeAllListeners("end");
        c.removeAllListeners("error");
        c.on("error", () => undefined);
        await c.end().catch(() => undefined);
      }
    },
  };
}
