/** One item's outcome in a batch. */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Why an item was refused or dropped before its batch ran (a closed set). */
export type QueueRefusal = "queue-full" | "key-full" | "expired";

export interface BatcherOptions<T, R> {
  /**
   * Runs one batch; answers one outcome per item, in order. An item may answer with a promise (work
   * it still needs alone): the batch's slot is free as soon as the batch answers, while that item's
   * key stays busy until its promise settles. A throw fails every item of the batch.
   */
  run(items: T[]): Promise<(Settled<R> | Promise<Settled<R>>)[]>;
  /** Items with the same key never share a batch or run at the same time (they go in arrival order). */
  key(item: T): string;
  /** Most items in one batch. */
  maxBatch: number;
  /** Most batches running at once. */
  maxInFlight: number;
  /** Most items waiting, in all; beyond it an item is refused at once ("queue-full"). */
  maxQueued: number;
  /** Most items waiting with one key; beyond it an item is refused at once ("key-full"). */
  maxQueuedPerKey: number;
  /** Longest an item waits for its batch; then it fails ("expired") instead of waiting on. */
  maxWaitMs: number;
  /** The error an item refused or dropped for `why` fails with. */
  refused(why: QueueRefusal): Error;
}

/**
 * Group commit: callers submit one item each and get its own answer, while the items that arrive
 * together go to the database together. Nothing waits for a timer: batches start at the end of the
 * event loop's current turn (setImmediate), so the items of one turn (every request read from the
 * sockets in one go) go out together, an idle system keeps single-call latency, and a busy one
 * amortises each round trip over everything queued behind it.
 *
 * What goes out together is shared evenly by the free slots (two free slots: two half batches)
 * instead of the first slot taking it all: a batch that held every caller would leave the process
 * idle while the database runs it, and the callers would come back in lockstep. Two half batches
 * keep one being prepared or answered here while the other runs there.
 *
 * Fair and bounded: each key has its own queue, and batches take the keys in turn (round robin), one
 * item each, so a key with thousands queued gets one item per round like any other. A key with
 * `maxQueuedPerKey` waiting, or `maxQueued` waiting in all, refuses more at once; an item that waits
 * `maxWaitMs`, or whose signal aborts (its caller's deadline), fails instead of waiting on.
 */
export function createBatcher<T, R>(opts: BatcherOptions<T, R>) {
  interface Entry {
    item: T;
    key: string;
    since: number;
    resolve(r: R): void;
    reject(e: unknown): void;
    /** Detaches the entry from its caller's signal. */
    detach?: () => void;
  }
  /** Waiting items by key, each in arrival order. */
  const queues = new Map<string, Entry[]>();
  /** Keys with items waiting and none in flight, in the order they get their next turn. */
  const ready = new Set<string>();
  const busy = new Set<string>();
  let queued = 0;
  let inFlight = 0;
  let pumping = false;
  let sweeper: NodeJS.Timeout | undefined;

  /** Starts batches at the end of this turn of the event loop, once however often it is called. */
  function pump(): void {
    if (pumping || inFlight >= opts.maxInFlight || ready.size === 0) return;
    pumping = true;
    setImmediate(startBatches);
  }

  /** Takes the entry out of its key's queue (the head when `e` is omitted). */
  function dequeue(key: string, e?: Entry): Entry | undefined {
    const q = queues.get(key);
    if (!q) return undefined;
    const i = e ? q.indexOf(e) : 0;
    if (i < 0) return undefined;
    const [out] = q.splice(i, 1);
    queued--;
    out.detach?.();
    if (q.length === 0) {
      queues.delete(key);
      ready.delete(key);
    }
    return out;
  }

  function startBatches(): void {
    pumping = false;
    const now = Date.now();
    while (inFlight < opts.maxInFlight && ready.size > 0) {
      const share = Math.min(opts.maxBatch, Math.ceil(ready.size / (opts.maxInFlight - inFlight)));
      const batch: Entry[] = [];
      for (const key of ready) {
        if (batch.length >= share) break;
        ready.delete(key);
        const e = takeFresh(key, now);
        if (!e) continue;
        busy.add(key);
        batch.push(e);
      }
      if (batch.length === 0) continue;
      inFlight++;
      void runBatch(batch);
    }
  }

  /** The key's first item that has not waited too long; those that have fail on the way. */
  function takeFresh(key: string, now: number): Entry | undefined {
    for (let e = dequeue(key); e; e = dequeue(key)) {
      if (now - e.since < opts.maxWaitMs) return e;
      e.reject(opts.refused("expired"));
    }
    return undefined;
  }

  /** The key's item is done: its next one, if any, waits its turn behind the keys already ready. */
  function release(key: string): void {
    busy.delete(key);
    if (queues.has(key)) ready.add(key);
    pump();
  }

  async function runBatch(batch: Entry[]): Promise<void> {
    let out: (Settled<R> | Promise<Settled<R>>)[] | undefined;
    try {
      out = await opts.run(batch.map((e) => e.item));
    } catch (err) {
      for (const e of batch) e.reject(err);
    }
    inFlight--;
    batch.forEach((e, i) => {
      if (!out) return release(e.key);
      const settle = (o: Settled<R> | undefined) => {
        if (o?.ok) e.resolve(o.value);
        else e.reject(o ? o.error : new Error("batch answered fewer items than it was given"));
        release(e.key);
      };
      const o = out[i];
      if (o instanceof Promise) o.then(settle, (error: unknown) => settle({ ok: false, error }));
      else settle(o);
    });
    pump();
  }

  /** Fails the items that have waited `maxWaitMs`; runs while any wait. */
  function sweep(): void {
    sweeper = undefined;
    const now = Date.now();
    for (const [key, q] of queues) {
      while (q.length > 0 && now - q[0].since >= opts.maxWaitMs) dequeue(key)!.reject(opts.refused("expired"));
    }
    schedule();
  }
  function schedule(): void {
    if (sweeper || queued === 0) return;
    sweeper = setTimeout(sweep, sweepEvery(opts.maxWaitMs));
    sweeper.unref();
  }

  return {
    /** Queues `item` for the next batch; `signal` (the caller's deadline) drops it while it waits. */
    submit(item: T, signal?: AbortSignal): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        const key = opts.key(item);
        if (signal?.aborted) return reject(opts.refused("expired"));
        if (queued >= opts.maxQueued) return reject(opts.refused("queue-full"));
        const q = queues.get(key) ?? [];
        if (q.length >= opts.maxQueuedPerKey) return reject(opts.refused("key-full"));
        const e: Entry = { item, key, since: Date.now(), resolve, reject };
        if (signal) {
          const abort = () => {
            if (dequeue(key, e)) reject(opts.refused("expired"));
          };
          signal.addEventListener("abort", abort, { once: true });
          e.detach = () => signal.removeEventListener("abort", abort);
        }
        q.push(e);
        queued++;
        if (q.length === 1) {
          queues.set(key, q);
          if (!busy.has(key)) ready.add(key);
        }
        schedule();
        pump();
      });
    },
    /** Items waiting for a batch (not those in flight). */
    queued: () => queued,
  };
}

/** Options of createLimiter beyond its maximum. */
export interface LimiterOptions {
  /** Longest a function waits for its turn before it fails with `expired()` instead (default: no bound). */
  maxWaitMs?: number;
  expired?: () => Error;
}

/** How often waiting items are checked against a maximum wait: late by at most an eighth of it (and 500 ms). */
function sweepEvery(maxWaitMs: number): number {
  return Math.max(10, Math.min(500, maxWaitMs / 8));
}

/**
 * Runs at most `max` of the functions given to it at once; the others wait their turn, in order, at
 * most `maxWaitMs` each.
 */
export function createLimiter(max: number, opts: LimiterOptions = {}) {
  interface Waiter {
    /** Hands the finishing function's slot over. */
    go(): void;
    fail(e: Error): void;
    since: number;
  }
  let running = 0;
  const waiting: Waiter[] = [];
  let sweeper: NodeJS.Timeout | undefined;
  const { maxWaitMs } = opts;
  const expired = opts.expired ?? (() => new Error(`waited more than ${maxWaitMs} ms for a turn`));
  /** Fails the functions that have waited too long (the oldest are first in line). */
  function sweep(): void {
    sweeper = undefined;
    const now = Date.now();
    while (waiting.length > 0 && now - waiting[0].since >= maxWaitMs!) waiting.shift()!.fail(expired());
    schedule();
  }
  function schedule(): void {
    if (sweeper || maxWaitMs === undefined || waiting.length === 0) return;
    sweeper = setTimeout(sweep, sweepEvery(maxWaitMs));
    sweeper.unref();
  }
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (running < max) running++;
      else {
        await new Promise<void>((go, fail) => {
          waiting.push({ go, fail, since: Date.now() });
          schedule();
        });
      }
      try {
        return await fn();
      } finally {
        const next = waiting.shift();
        if (next) next.go();
        else running--;
      }
    },
  };
}

export interface LoaderOptions<K, V> {
  /** Reads many keys at once; a key missing from the answer is answered undefined. */
  load(keys: K[]): Promise<Map<K, V>>;
  /** Most keys in one load. */
  maxBatch: number;
  /** Most loads running at once. */
  maxInFlight: number;
  /**
   * How long a call may wait for a load to take it (default 10 s, as long as a pooled connection is
   * waited for): when the database stalls, queued calls fail with `expired()` instead of waiting behind
   * load after load.
   */
  maxWaitMs?: number;
  /** The error a call that waited too long fails with. */
  expired?: () => Error;
}

/**
 * Batched reads, the read-side twin of createBatcher: calls that arrive while `maxInFlight` loads
 * run are answered by the next load together, and equal keys in it share one answer. A call never
 * joins a load that has already started, so it always sees writes that finished before it was made.
 * Nothing waits for a timer: with a free slot a call is loaded at once.
 */
export function createLoader<K, V>(opts: LoaderOptions<K, V>) {
  type Waiter = { resolve(v: V | undefined): void; reject(e: unknown): void; since: number };
  const queue = new Map<K, Waiter[]>();
  const maxWaitMs = opts.maxWaitMs ?? 10_000;
  const expired = opts.expired ?? (() => new Error(`waited more than ${maxWaitMs} ms for a read`));
  let inFlight = 0;
  let sweeper: NodeJS.Timeout | undefined;

  /** Fails the calls that have waited too long; runs while calls wait and every load is busy. */
  function sweep(): void {
    sweeper = undefined;
    const now = Date.now();
    for (const [k, waiters] of queue) {
      const fresh: Waiter[] = [];
      for (const w of waiters) {
        if (now - w.since < maxWaitMs) fresh.push(w);
        else w.reject(expired());
      }
      if (fresh.length) queue.set(k, fresh);
      else queue.delete(k);
    }
    if (queue.size > 0) schedule();
  }
  function schedule(): void {
    sweeper ??= setTimeout(sweep, Math.max(100, maxWaitMs / 4));
    sweeper.unref();
  }

  function pump(): void {
    while (inFlight < opts.maxInFlight && queue.size > 0) {
      const keys: K[] = [];
      const waiters: Waiter[][] = [];
      for (const [k, w] of queue) {
        if (keys.length >= opts.maxBatch) break;
        keys.push(k);
        waiters.push(w);
      }
      for (const k of keys) queue.delete(k);
      inFlight++;
      opts
        .load(keys)
        .then(
          (found) => keys.forEach((k, i) => waiters[i].forEach((w) => w.resolve(found.get(k)))),
          (err: unknown) => waiters.forEach((ws) => ws.forEach((w) => w.reject(err))),
        )
        .finally(() => {
          inFlight--;
          pump();
        });
    }
    if (queue.size > 0) schedule();
  }

  return {
    load(key: K): Promise<V | undefined> {
      return new Promise<V | undefined>((resolve, reject) => {
        const waiter = { resolve, reject, since: Date.now() };
        const waiting = queue.get(key);
        if (waiting) waiting.push(waiter);
        else queue.set(key, [waiter]);
        pump();
      });
    },
  };
}
