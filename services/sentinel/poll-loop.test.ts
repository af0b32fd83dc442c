/**
 * The poll loop with an in-memory API and broker (injected through its interfaces): one resource that
 * cannot be read or published is skipped and counted, and the others are published. sentinel.test.ts
 * covers the same against the real API and brokers.
 */
import { jest } from "@jest/globals";
import type { Publisher } from "../shared/broker/index.js";
import { decodeReconcileEvent } from "../shared/events/index.js";
import { silentLogger } from "../shared/log.js";
import { createPoller, type PollConfig, type PollObserver, type SkipReason } from "./poll-loop.js";
import type { DueResource, ResourceLister } from "./resource-lister.js";

const id = (n: number) => `0190aaaa-0000-7000-8000-00000000000${n}`;
const due = (n: number): DueResource => ({ generation: 1, observedGeneration: 0, phase: "NotReady", lastUpdatedTime: new Date(0), ref: { id: id(n), kind: "Cluster", href: `/c/${id(n)}`, generation: 1 } });

/**
 * A poller over rows the test holds (the lister returns them all, as if every one were due) and a
 * broker that records the ids it was given, on a clock the test moves.
 */
function memoryPoller(rows: Map<string, DueResource>, config: Partial<PollConfig> & Pick<PollConfig, "pollIntervalMs" | "maxAgeNotReadyMs" | "maxAgeReadyMs">, start: number) {
  const clock = { now: start };
  const published: string[] = [];
  const lister: ResourceLister = { listPage: async () => ({ resources: [...rows.values()], unreadable: [], nextPageToken: "" }), get: () => Promise.reject(new Error("not used")) };
  const publisher: Publisher = {
    async publish(_topic, message) {
      const d = decodeReconcileEvent(message.data);
      if (d.ok) published.push(d.event.data.id);
      return "m";
    },
  };
  const poller = createPoller({
    lister,
    publisher,
    log: silentLogger(),
    now: () => new Date(clock.now),
    newId: () => `0190ffff-0000-7000-8000-${String(published.length).padStart(12, "0")}`,
    config: { pageSize: 500, selector: [], topic: "t", ...config },
  });
  return { poller, published, clock };
}

test("a row that cannot be read and an event the broker refuses are skipped and counted; every other resource is published", async () => {
  const lister: ResourceLister = {
    async listPage() {
      return { resources: [due(1), due(2), due(4)], unreadable: [{ id: id(3), error: "generation out of range" }], lastId: id(4), nextPageToken: "" };
    },
    get: () => Promise.reject(new Error("not used")),
  };
  const published: string[] = [];
  const publisher: Publisher = {
    async publish(_topic, message) {
      const d = decodeReconcileEvent(message.data);
      if (!d.ok) throw new Error("bad event");
      if (d.event.data.id === id(2)) throw new Error("broker refused");
      published.push(d.event.data.id);
      return "m";
    },
  };
  const skipped: SkipReason[] = [];
  const observer: PollObserver = { pollDone: () => undefined, published: () => undefined, error: () => undefined, skipped: (r) => void skipped.push(r) };
  let n = 0;
  const poller = createPoller({
    lister,
    publisher,
    observer,
    log: silentLogger(),
    now: () => new Date("2026-01-01T00:00:00Z"),
    newId: () => `0190bbbb-0000-7000-8000-00000000000${n++}`,
    config: { pollIntervalMs: 1000, maxAgeNotReadyMs: 1000, maxAgeReadyMs: 10_000, pageSize: 10, selector: [], topic: "t" },
  });
  const result = await poller.pollOnce();
  expect(published.sort()).toEqual([id(1), id(4)]);
  expect(result).toMatchObject({ seen: 4, due: 3, published: 2, failed: 1, skipped: 2, held: 0 });
  expect(skipped.sort()).toEqual(["publish", "read"]);
  expect(poller.stats().skipped).toBe(2);
});

test("flow control: at most a window of events waits for answers; changes go first, the rest waits its turn", async () => {
  const uuid = (n: number) => `0190aaaa-0000-7000-8000-${String(n).padStart(12, "0")}`;
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  // 250 new clusters and one Ready cluster due for its drift check; answers arrive when the test says.
  const rows = new Map<string, DueResource>();
  for (let n = 1; n <= 250; n++) rows.set(uuid(n), { generation: 1, observedGeneration: 0, phase: "NotReady", lastUpdatedTime: new Date(t0 - 1), ref: { id: uuid(n), kind: "Cluster", href: `/c/${uuid(n)}`, generation: 1 } });
  rows.set(uuid(999), { generation: 1, observedGeneration: 1, phase: "Ready", lastUpdatedTime: new Date(t0 - 20_000), ref: { id: uuid(999), kind: "Cluster", href: `/c/${uuid(999)}`, generation: 1 } });
  const { poller, published, clock } = memoryPoller(rows, { pollIntervalMs: 100, maxAgeNotReadyMs: 100, maxAgeReadyMs: 10_000 }, t0);
  // Changes go at once (one event each, bounded by the users' writes); the drift check must wait for
  // room in the initial window of 100, which the 250 unanswered changes fill.
  expect(await poller.pollOnce()).toMatchObject({ due: 251, published: 250, held: 1 });
  expect(published).not.toContain(uuid(999));
  // Nobody answered yet: nothing more goes out.
  clock.now += 200;
  expect(await poller.pollOnce()).toMatchObject({ published: 0, awaiting: 250, held: 1 });
  // Every adapter answers the first 100 within 250 ms (a quarter of the 1 s target): they leave the
  // window, 150 still wait in it, so the drift check is still held; the window, which held it back, doubles.
  const answer = (ids: string[]) => {
    for (const id of ids) {
      const r = rows.get(id)!;
      if (r.phase === "NotReady") rows.set(id, { ...r, observedGeneration: 1, phase: "Ready", lastUpdatedTime: new Date(clock.now - 50) });
    }
  };
  clock.now += 100;
  answer(published.slice(0, 100));
  expect(await poller.pollOnce()).toMatchObject({ published: 0, held: 1 });
  // The window moves once per round trip (an answer time, 250 ms here), not at every poll.
  expect(poller.stats().window).toBe(100);
  clock.now += 300;
  expect(await poller.pollOnce()).toMatchObject({ published: 0, held: 1 });
  expect(poller.stats().window).toBe(200);
  // Now there is room (200 - 150): the drift check goes, after every change.
  clock.now += 100;
  expect(await poller.pollOnce()).toMatchObject({ published: 1, held: 0 });
  expect(published[published.length - 1]).toBe(uuid(999));
  expect(new Set(published).size).toBe(251);
});

test("flow control: events unanswered past the target shrink the window even when the few answers are fast, and an old unanswered event is not forgotten", async () => {
  const uuid = (n: number) => `0190cccc-0000-7000-8000-${String(n).padStart(12, "0")}`;
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  const rows = new Map<string, DueResource>();
  for (let n = 1; n <= 250; n++) rows.set(uuid(n), { generation: 1, observedGeneration: 0, phase: "NotReady", lastUpdatedTime: new Date(t0 - 500), ref: { id: uuid(n), kind: "Cluster", href: `/c/${uuid(n)}`, generation: 1 } });
  const { poller, published, clock } = memoryPoller(rows, { pollIntervalMs: 100, maxAgeNotReadyMs: 100, maxAgeReadyMs: 3000, maxOutstanding: 1000 }, t0);
  // 250 new clusters: changes go at once.
  expect(await poller.pollOnce()).toMatchObject({ published: 250 });
  // One answers in 50 ms; the other 249 stay unanswered for 1.5 s (one and a half targets).
  clock.now += 100;
  rows.set(uuid(1), { ...rows.get(uuid(1))!, lastUpdatedTime: new Date(t0 + 50) });
  await poller.pollOnce();
  // Its repeat was held by the full window, and its answer was fast: the window doubled.
  expect(poller.stats().window).toBe(200);
  clock.now += 1400;
  await poller.pollOnce();
  // 249 answers late by half the target outvote the one fast answer: the window shrinks by target ÷ 1.5 s.
  expect(poller.stats().window).toBeCloseTo(133.33, 1);
  // Still unanswered well past the forget horizon of unseen events (2 × 3 s): the repeats are
  // repeats, not first events of a change, so they wait for room in the window.
  const before = published.length;
  clock.now += 20_000;
  expect(await poller.pollOnce()).toMatchObject({ due: 250, published: 133, held: 117 });
  expect(published.length - before).toBe(133);
});

test("when the broker lost its events (topic gone), unanswered resources go again at the next poll, not after their retry time", async () => {
  const id1 = "0190eeee-0000-7000-8000-000000000001";
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  const row: DueResource = { generation: 1, observedGeneration: 0, phase: "NotReady", lastUpdatedTime: new Date(t0 - 1), ref: { id: id1, kind: "Cluster", href: `/c/${id1}`, generation: 1 } };
  const { poller, published, clock } = memoryPoller(new Map([[id1, row]]), { pollIntervalMs: 1000, maxAgeNotReadyMs: 2000, maxAgeReadyMs: 1_800_000 }, t0);
  await poller.pollOnce();
  clock.now += 5000;
  expect(await poller.pollOnce()).toMatchObject({ published: 0, awaiting: 1 });
  poller.eventsLost();
  expect(await poller.pollOnce()).toMatchObject({ published: 1 });
  expect(published).toEqual([id1, id1]);
});

test("a burst of 130,000 changes in one poll is published (a spread of that many arguments throws RangeError)", async () => {
  const rows = new Map<string, DueResource>();
  for (let n = 0; n < 130_000; n++) {
    const id = `0190abcd-0000-7000-8000-${n.toString(16).padStart(12, "0")}`;
    rows.set(id, { generation: 1, observedGeneration: 0, phase: "NotReady", lastUpdatedTime: new Date(0), ref: { id, kind: "Cluster", href: `/c/${id}`, generation: 1 } });
  }
  const { poller, published } = memoryPoller(rows, { pollIntervalMs: 1000, maxAgeNotReadyMs: 2000, maxAgeReadyMs: 1_800_000 }, Date.parse("2026-01-01T00:00:00Z"));
  expect(await poller.pollOnce()).toMatchObject({ due: 130_000, published: 130_000, held: 0 });
  expect(published.length).toBe(130_000);
}, 60_000);

test("with the watch live, polls stretch to a quarter of the answer time while answers are awaited; when the watch goes, the next poll comes within the target again", async () => {
  jest.useFakeTimers({ doNotFake: ["nextTick", "setImmediate", "queueMicrotask"] });
  try {
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    const uuid = (n: number) => `0190dddd-0000-7000-8000-00000000000${n}`;
    const row = (n: number): DueResource => ({ generation: 1, observedGeneration: 0, phase: "NotReady", lastUpdatedTime: new Date(t0 - 1), ref: { id: uuid(n), kind: "Cluster", href: `/c/${uuid(n)}`, generation: 1 } });
    const rows = new Map([1, 2].map((n) => [uuid(n), row(n)]));
    const { poller, clock } = memoryPoller(rows, { pollIntervalMs: 500, maxAgeNotReadyMs: 10_000, maxAgeReadyMs: 1_800_000 }, t0);
    await poller.pollOnce();
    // The first is answered after 60 s (the answer time), the second is still awaited.
    clock.now += 60_000;
    rows.set(uuid(1), { ...row(1), observedGeneration: 1, phase: "Ready", lastUpdatedTime: new Date(clock.now) });
    await poller.pollOnce();
    expect(poller.stats().answerMs).toBe(60_000);
    // The second went again (presumed lost); 15 s later it is awaited, within its retry time.
    clock.now += 15_000;
    poller.setWatchLive(true);
    poller.start();
    const polls = poller.stats().polls;
    await jest.advanceTimersByTimeAsync(0);
    expect(poller.stats().polls).toBe(polls + 1);
    // A quarter of the answer time, not the 1 s target the poll alone is held to.
    expect(poller.interval()).toBe(15_000);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(poller.stats().polls).toBe(polls + 1);
    // The watch broke: the poll is the only path again, and comes within the target.
    poller.setWatchLive(false);
    expect(poller.interval()).toBe(1_000);
    await jest.advanceTimersByTimeAsync(1);
    expect(poller.stats().polls).toBe(polls + 2);
    await poller.stop();
  } finally {
    jest.useRealTimers();
  }
});
