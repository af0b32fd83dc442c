/**
 * The poll loop with an in-memory API and broker (injected through its interfaces): one resource that
 * cannot be read or published is skipped and counted, and the others are published. sentinel.test.ts
 * covers the same against the real API and brokers.
 */
import type { Publisher } from "../shared/broker/index.js";
import { decodeReconcileEvent } from "../shared/events/index.js";
import { silentLogger } from "../shared/log.js";
import { createPoller, type PollObserver, type SkipReason } from "./poll-loop.js";
import type { DueResource, ResourceLister } from "./resource-lister.js";

const id = (n: number) => `0190aaaa-0000-7000-8000-00000000000${n}`;
const due = (n: number): DueResource => ({ generation: 1, observedGeneration: 0, phase: "NotReady", lastUpdatedTime: new Date(0), ref: { id: id(n), kind: "Cluster", href: `/c/${id(n)}`, generation: 1 } });

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
  expect(result).toMatchObject({ seen: 4, due: 3, published: 2, failed: 1, skipped: 2 });
  expect(skipped.sort()).toEqual(["publish", "read"]);
  expect(poller.stats().skipped).toBe(2);
});
