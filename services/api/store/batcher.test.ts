import { createBatcher, createLimiter, createLoader, type BatcherOptions, type QueueRefusal, type Settled } from "./batcher.js";

/** One turn of the event loop. */
const tick = () => new Promise((r) => setImmediate(r));

interface Item {
  key: string;
  n: number;
}

/** Queue bounds no test reaches unless it sets them. */
const UNBOUNDED = { maxQueued: 1e6, maxQueuedPerKey: 1e6, maxWaitMs: 3_600_000, refused: (why: QueueRefusal) => new Error(why) };

/** A batcher whose batches the test releases by hand, recording what each batch held. */
function harness(maxBatch = 10, maxInFlight = 1, bounds: Partial<BatcherOptions<Item, string>> = {}) {
  const batches: number[][] = [];
  const release: (() => void)[] = [];
  const b = createBatcher<Item, string>({
    ...UNBOUNDED,
    ...bounds,
    key: (i) => i.key,
    maxBatch,
    maxInFlight,
    async run(items) {
      batches.push(items.map((i) => i.n));
      await new Promise<void>((r) => release.push(r));
      if (items.some((i) => i.key === "boom")) throw new Error("database down");
      return items.map((i): Settled<string> => (i.n < 0 ? { ok: false, error: new Error(`bad ${i.n}`) } : { ok: true, value: `done ${i.n}` }));
    },
  });
  // Batches start at the end of a turn of the event loop: two turns let a released batch's answers
  // settle and the next batch start.
  const flush = async () => {
    await tick();
    while (release.length) {
      release.shift()!();
      await tick();
      await tick();
    }
  };
  return { b, batches, flush };
}

test("items of one turn go together at its end; those arriving while it runs go together next", async () => {
  const { b, batches, flush } = harness();
  const first = [1, 2].map((n) => b.submit({ key: `k${n}`, n }));
  expect(batches).toEqual([]); // not before the turn ends
  await tick();
  expect(batches).toEqual([[1, 2]]);
  const next = [3, 4, 5].map((n) => b.submit({ key: `k${n}`, n }));
  await tick();
  expect(batches).toEqual([[1, 2]]); // the only slot is busy
  await flush();
  expect(batches).toEqual([[1, 2], [3, 4, 5]]);
  expect(await Promise.all([...first, ...next])).toEqual(["done 1", "done 2", "done 3", "done 4", "done 5"]);
});

test("an item alone in an idle batcher runs alone, in the same turn's end", async () => {
  const { b, batches, flush } = harness();
  const one = b.submit({ key: "k1", n: 1 });
  await tick();
  expect(batches).toEqual([[1]]);
  await flush();
  expect(await one).toBe("done 1");
});

test("free slots share the queue evenly; a lone free slot takes all it may", async () => {
  const { b, batches, flush } = harness(10, 2);
  const all = [1, 2, 3, 4, 5, 6].map((n) => b.submit({ key: `k${n}`, n }));
  await tick();
  // One batch of six would leave the caller idle while it runs; two of three overlap.
  expect(batches).toEqual([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  await flush();
  await Promise.all(all);
  const { b: b2, batches: batches2, flush: flush2 } = harness(4, 2);
  const held = b2.submit({ key: "held", n: 0 });
  await tick();
  const more = [1, 2, 3, 4, 5, 6].map((n) => b2.submit({ key: `k${n}`, n }));
  await tick();
  expect(batches2).toEqual([[0], [1, 2, 3, 4]]); // the second slot alone: up to maxBatch
  await flush2();
  expect(batches2).toEqual([[0], [1, 2, 3, 4], [5, 6]]);
  await Promise.all([held, ...more]);
});

test("two items with one key never share a batch or run at once, and keep their order", async () => {
  const { b, batches, flush } = harness(10, 1);
  const all = [b.submit({ key: "a", n: 1 }), b.submit({ key: "a", n: 2 }), b.submit({ key: "b", n: 3 }), b.submit({ key: "a", n: 4 })];
  await tick();
  expect(batches).toEqual([[1, 3]]); // the second a waits for the first; so does the third
  await flush();
  expect(batches).toEqual([[1, 3], [2], [4]]);
  await Promise.all(all);
});

test("batches hold at most maxBatch items", async () => {
  const { b, batches, flush } = harness(2);
  const all = [1, 2, 3, 4, 5, 6].map((n) => b.submit({ key: `k${n}`, n }));
  await flush();
  expect(batches).toEqual([
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  await Promise.all(all);
});

test("each item gets its own outcome; a batch that throws fails only its own items, and the next batch runs", async () => {
  const { b, flush } = harness();
  const first = b.submit({ key: "k1", n: 1 });
  const bad = b.submit({ key: "k2", n: -2 });
  const good = b.submit({ key: "k3", n: 3 });
  await flush();
  // boom's batch starts alone; k5, submitted a turn later, waits behind it.
  const boom = b.submit({ key: "boom", n: 4 });
  await tick();
  const later = [boom, b.submit({ key: "k5", n: 5 })];
  const settled = Promise.allSettled([first, bad, good, ...later]);
  await flush();
  const out = await settled;
  expect(out.map((o) => (o.status === "fulfilled" ? o.value : (o.reason as Error).message))).toEqual(["done 1", "bad -2", "done 3", "database down", "done 5"]);
  // The batcher still works afterwards.
  const again = b.submit({ key: "boom2", n: 6 });
  await flush();
  expect(await again).toBe("done 6");
});

test("an item that still needs work alone frees the batch's slot at once, and keeps only its own key busy", async () => {
  let release!: () => void;
  const batches: number[][] = [];
  const b = createBatcher<Item, string>({
    ...UNBOUNDED,
    key: (i) => i.key,
    maxBatch: 10,
    maxInFlight: 1,
    async run(items) {
      batches.push(items.map((i) => i.n));
      return items.map((i) => (i.n === 1 ? new Promise<Settled<string>>((r) => (release = () => r({ ok: true, value: "slow done" }))) : { ok: true, value: `done ${i.n}` }));
    },
  });
  const slow = b.submit({ key: "a", n: 1 });
  await new Promise((r) => setImmediate(r));
  // The slot is free: other keys run now; the slow item's key waits for it.
  const other = b.submit({ key: "b", n: 2 });
  const sameKey = b.submit({ key: "a", n: 3 });
  expect(await other).toBe("done 2");
  expect(batches).toEqual([[1], [2]]);
  release();
  expect(await slow).toBe("slow done");
  expect(await sameKey).toBe("done 3");
  expect(batches).toEqual([[1], [2], [3]]);
});

describe("bounded and fair", () => {
  /** Each outcome as "done n" or the refusal's message. */
  const outcomes = async (ps: Promise<string>[]) => (await Promise.allSettled(ps)).map((o) => (o.status === "fulfilled" ? o.value : (o.reason as Error).message));

  test("a key with maxQueuedPerKey waiting refuses more at once; other keys still queue", async () => {
    const { b, flush } = harness(10, 1, { maxQueuedPerKey: 2 });
    const flood = [1, 2, 3, 4, 5].map((n) => b.submit({ key: "flood", n }));
    // All five arrive before any batch starts: two wait, three are refused before the turn ends.
    const refusedAtOnce = await Promise.race([outcomes(flood.slice(2)), tick().then(() => "still waiting")]);
    expect(refusedAtOnce).toEqual(["key-full", "key-full", "key-full"]);
    const other = b.submit({ key: "other", n: 6 });
    await flush();
    expect(await outcomes([...flood.slice(0, 2), other])).toEqual(["done 1", "done 2", "done 6"]);
  });

  test("the item in flight does not count against its key's bound", async () => {
    const { b, batches, flush } = harness(10, 1, { maxQueuedPerKey: 1 });
    const first = b.submit({ key: "k", n: 1 });
    await tick(); // 1 is in flight
    const queued = b.submit({ key: "k", n: 2 });
    const refused = b.submit({ key: "k", n: 3 });
    expect(await outcomes([refused])).toEqual(["key-full"]);
    await flush();
    expect(await outcomes([first, queued])).toEqual(["done 1", "done 2"]);
    expect(batches).toEqual([[1], [2]]);
  });

  test("maxQueued waiting in all: more are refused at once, whatever their key", async () => {
    const { b, flush } = harness(10, 1, { maxQueued: 3 });
    const all = [1, 2, 3, 4, 5].map((n) => b.submit({ key: `k${n}`, n }));
    expect(await outcomes(all.slice(3))).toEqual(["queue-full", "queue-full"]);
    await flush();
    expect(await outcomes(all.slice(0, 3))).toEqual(["done 1", "done 2", "done 3"]);
    // Room again once they went.
    const later = b.submit({ key: "k9", n: 9 });
    await flush();
    expect(await later).toBe("done 9");
  });

  test("keys take turns: a key with many waiting gets one item per batch, and keys arriving later go in the next batch", async () => {
    const { b, batches, flush } = harness(10, 1);
    const flood = [1, 2, 3, 4].map((n) => b.submit({ key: "flood", n }));
    await tick(); // flood 1 in flight
    const others = [b.submit({ key: "x", n: 10 }), b.submit({ key: "y", n: 20 })];
    await flush();
    expect(batches).toEqual([[1], [10, 20, 2], [3], [4]]);
    await Promise.all([...flood, ...others]);
  });

  test("an item that waits maxWaitMs behind a stalled batch fails as expired; the stalled one is left to finish", async () => {
    let finish!: () => void;
    const b = createBatcher<Item, string>({
      ...UNBOUNDED,
      maxWaitMs: 50,
      key: (i) => i.key,
      maxBatch: 10,
      maxInFlight: 1,
      async run(items) {
        if (items[0].n === 1) await new Promise<void>((r) => (finish = r));
        return items.map((i) => ({ ok: true, value: `done ${i.n}` }));
      },
    });
    const stalled = b.submit({ key: "a", n: 1 });
    await tick();
    const waiting = [b.submit({ key: "b", n: 2 }), b.submit({ key: "a", n: 3 })];
    expect(await outcomes(waiting)).toEqual(["expired", "expired"]);
    expect(b.queued()).toBe(0);
    finish();
    expect(await stalled).toBe("done 1");
    expect(await b.submit({ key: "a", n: 4 })).toBe("done 4"); // nothing left behind
  });

  test("an item whose caller's signal aborts while it waits fails as expired and leaves the queue; an aborted signal is refused at once", async () => {
    const { b, batches, flush } = harness(10, 1);
    const first = b.submit({ key: "a", n: 1 });
    await tick();
    const deadline = new AbortController();
    const gone = b.submit({ key: "b", n: 2 }, deadline.signal);
    const stays = b.submit({ key: "c", n: 3 });
    deadline.abort();
    expect(await outcomes([gone, b.submit({ key: "d", n: 4 }, deadline.signal)])).toEqual(["expired", "expired"]);
    await flush();
    expect(batches).toEqual([[1], [3]]);
    expect(await outcomes([first, stays])).toEqual(["done 1", "done 3"]);
  });
});

test("the limiter runs at most its maximum at once, the rest in order, and frees a slot on failure", async () => {
  const limit = createLimiter(2);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const job = (n: number) => async () => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    order.push(n);
    if (n === 1) throw new Error("one failed");
    return n;
  };
  const out = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => limit.run(job(n))));
  expect(peak).toBe(2);
  expect(out.map((o) => o.status)).toEqual(["rejected", "fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
  expect(order.slice(0, 2).sort()).toEqual([1, 2]);
});

test("the limiter fails a function that waited maxWaitMs for its turn, without running it", async () => {
  const limit = createLimiter(1, { maxWaitMs: 50, expired: () => new Error("waited too long") });
  let finish!: () => void;
  const holding = limit.run(() => new Promise<void>((r) => (finish = r)));
  let ran = false;
  const waiting = limit.run(async () => (ran = true));
  await expect(waiting).rejects.toThrow("waited too long");
  expect(ran).toBe(false);
  finish();
  await holding;
  expect(await limit.run(async () => "free again")).toBe("free again");
});

describe("createLoader: batched reads", () => {
  /** A loader over a mutable "table" whose loads the test releases by hand; it records each load's keys. */
  function loaderHarness(maxBatch = 10, maxInFlight = 1) {
    const table = new Map<string, number>([["a", 1], ["b", 2], ["c", 3]]);
    const loads: string[][] = [];
    const release: (() => void)[] = [];
    const l = createLoader<string, number>({
      maxBatch,
      maxInFlight,
      async load(keys) {
        loads.push(keys);
        const snapshot = new Map(keys.filter((k) => table.has(k)).map((k) => [k, table.get(k)!]));
        await new Promise<void>((r) => release.push(r));
        if (keys.includes("boom")) throw new Error("database down");
        return snapshot;
      },
    });
    const flush = async () => {
      while (release.length) {
        release.shift()!();
        await new Promise((r) => setImmediate(r));
      }
    };
    return { l, table, loads, flush };
  }

  test("a read with a free slot goes at once; reads arriving meanwhile share the next load, equal keys once", async () => {
    const { l, loads, flush } = loaderHarness();
    const reads = ["a", "b", "c", "b", "zz"].map((k) => l.load(k));
    expect(loads).toEqual([["a"]]);
    await flush();
    expect(loads).toEqual([["a"], ["b", "c", "zz"]]);
    expect(await Promise.all(reads)).toEqual([1, 2, 3, 2, undefined]);
  });

  test("a read never joins a load already running, so it sees a write made before it was asked", async () => {
    const { l, table, loads, flush } = loaderHarness();
    const before = l.load("a");
    table.set("a", 10); // a write that finishes after the first load's snapshot, before the next read
    const after = l.load("a");
    await flush();
    expect(loads).toEqual([["a"], ["a"]]);
    expect([await before, await after]).toEqual([1, 10]);
  });

  test("at most maxBatch keys per load and maxInFlight loads at once", async () => {
    const { l, loads, flush } = loaderHarness(2, 2);
    const reads = ["a", "b", "c", "d", "e"].map((k) => l.load(k));
    expect(loads).toEqual([["a"], ["b"]]);
    await flush();
    expect(loads).toEqual([["a"], ["b"], ["c", "d"], ["e"]]);
    await Promise.all(reads);
  });

  test("a failed load fails the reads it carried, and only those", async () => {
    const { l, flush } = loaderHarness();
    const first = l.load("a");
    const failing = [l.load("boom"), l.load("b")];
    const outcomes = Promise.allSettled(failing);
    await flush();
    expect(await first).toBe(1);
    expect((await outcomes).map((o) => o.status)).toEqual(["rejected", "rejected"]);
    const later = l.load("c");
    await flush();
    expect(await later).toBe(3);
  });

  test("calls that wait longer than maxWaitMs behind stalled loads fail with the expired error", async () => {
    const never = new Promise<Map<string, number>>(() => undefined);
    const l = createLoader<string, number>({ maxBatch: 10, maxInFlight: 1, maxWaitMs: 50, expired: () => new Error("database busy"), load: () => never });
    const stalled = l.load("a"); // takes the only slot and never finishes
    const waiting = [l.load("b"), l.load("c"), l.load("b")];
    const outcomes = await Promise.allSettled(waiting);
    expect(outcomes.map((o) => (o.status === "rejected" ? (o.reason as Error).message : "resolved"))).toEqual(["database busy", "database busy", "database busy"]);
    void stalled;
  });
});
