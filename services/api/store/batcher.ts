/** One item's outcome in a batch. */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

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
 */
export function createBatcher<T, R>(opts: BatcherOptions<T, R>) {
  interface Entry {
    item: T;
    key: string;
    resolve(r: R): void;
    reject(e: unknown): void;
  }
  let queue: Entry[] = [];
  const busy = new Set<string>();
  let inFlight = 0;
  let pumping = false;

  /** Starts batches at the end of this turn of the event loop, once however often it is called. */
  function pump(): void {
    if (pumping || inFlight >= opts.maxInFlight || queue.length === 0) return;
    pumping = true;
    setImmediate(startBatches);
  }

  function startBatches(): void {
    pumping = false;
    while (inFlight < opts.maxInFlight && queue.length > 0) {
      const share = Math.min(opts.maxBatch, Math.ceil(queue.length / (opts.maxInFlight - inFlight)));
      const batch: Entry[] = [];
      const rest: Entry[] = [];
      for (const e of queue) {
        if (batch.length < share && !busy.has(e.key)) {
          busy.add(e.key);
          batch.push(e);
        } else rest.push(e);
      }
      queue = rest;
      if (batch.length === 0) return; // everything queued waits for a key in flight
      inFlight++;
      void runBatch(batch);
    }
  }

  async function runBatch(batch: Entry[]): Promise<void> {
    let out: (Settled<R> | Promise<Settled<R>>)[] | undefined;
    try {
      out = await opts.run(batch.map((e) => e.item));
    } catch (err) {
      for (const e of batch) e.reject(err);
    }
    batch.forEach((e, i) => {
      if (!out) return busy.delete(e.key);
      const settle = (o: Settled<R> | undefined) => {
        busy.delete(e.key);
        if (o?.ok) e.resolve(o.value);
        else e.reject(o ? o.error : new Error("batch answered fewer items than it was given"));
        pump();
      };
      const o = out[i];
      if (o instanceof Promise) o.then(settle, (error: unknown) => settle({ ok: false, error }));
      else settle(o);
    });
    inFlight--;
    pump();
  }

  return {
    submit(item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, key: opts.key(item), resolve, reject });
        pump();
      });
    },
  };
}

/** Runs at most `max` of the functions given to it at once; the others wait their turn, in order. */
export function createLimiter(max: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (running >= max) await new Promise<void>((r) => waiting.push(r));
      running++;
      try {
        return await fn();
      } finally {
        running--;
        waiting.shift()?.();
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
