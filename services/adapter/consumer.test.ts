import { createBroker, deadLetterName, subscriptionName, topicName, topicTopology, type IncomingMessage } from "../shared/broker/index.js";
import { encodeReconcileEvent, newReconcileEvent } from "../shared/events/index.js";
import { silentLogger } from "../shared/log.js";
import { createEventHandler } from "./consumer.js";
import type { ReconcileResult } from "./reconcile.js";
import { TEST_BROKERS, eventually, uniqueNamespace } from "../../test/support/brokers.js";

const event = (id: string) => ({
  id: `m-${id}-${Math.random()}`,
  data: encodeReconcileEvent(newReconcileEvent({ id, kind: "Cluster", href: `/api/hyperfleet/v1/clusters/${id}`, generation: 1 }, `e-${Math.random()}`, new Date())),
  attributes: {},
  deliveryAttempt: 1,
});
const done: ReconcileResult = { outcome: "Reported", trace: [], objects: [] };

test("events for one cluster never overlap; different clusters run in parallel", async () => {
  const running = new Map<string, number>();
  let maxSame = 0;
  let maxAll = 0;
  const handler = createEventHandler({
    log: silentLogger(),
    now: () => new Date(),
    reconcile: async (id) => {
      running.set(id, (running.get(id) ?? 0) + 1);
      maxSame = Math.max(maxSame, running.get(id)!);
      maxAll = Math.max(maxAll, [...running.values()].reduce((a, b) => a + b, 0));
      await new Promise((r) => setTimeout(r, 30));
      running.set(id, running.get(id)! - 1);
      return done;
    },
  });
  const verdicts = await Promise.all([event("a"), event("a"), event("a"), event("b"), event("c")].map((m) => handler.handle(m)));
  expect(verdicts).toEqual(["ack", "ack", "ack", "ack", "ack"]);
  expect(maxSame).toBe(1);
  expect(maxAll).toBeGreaterThan(1);
  // Three events for "a" at once: one run, one queued run, and the third joins the queued one.
  expect(handler.stats().byOutcome).toEqual({ Reported: 4, Coalesced: 1 });
});

test("a reconcile that throws is counted, logged and still acked (the Sentinel retries)", async () => {
  const handler = createEventHandler({ log: silentLogger(), now: () => new Date(), reconcile: async () => Promise.reject(new Error("boom")) });
  expect(await handler.handle(event("x"))).toBe("ack");
  expect(handler.stats()).toMatchObject({ byOutcome: { Failed: 1 }, lastError: { message: "boom" } });
});

test("pokes (owned objects changed) are deduplicated while waiting, bounded in number, and share the per-resource queue", async () => {
  let running = 0;
  let maxRunning = 0;
  const runs: string[] = [];
  const handler = createEventHandler({
    log: silentLogger(),
    now: () => new Date(),
    maxPoked: 2,
    reconcile: async (id) => {
      runs.push(id);
      maxRunning = Math.max(maxRunning, ++running);
      await new Promise((r) => setTimeout(r, 30));
      running--;
      return done;
    },
  });
  const event1 = handler.handle(event("a")); // an event for "a" is running when "a" is poked
  for (const id of ["a", "b", "c", "c", "d", "d", "d"]) handler.poke(id, "test");
  await event1;
  for (let i = 0; i < 100 && runs.length < 5; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  // "a" runs again after its event (the world may have changed meanwhile); c and d once each.
  expect(runs.sort()).toEqual(["a", "a", "b", "c", "d"]);
  expect(maxRunning).toBeLessThanOrEqual(3); // the event's run plus at most two poked ones
  // Shutdown: waiting pokes are dropped, running ones awaited, later ones ignored.
  handler.poke("e", "test");
  handler.poke("f", "test");
  handler.poke("g", "test");
  await handler.close();
  expect(running).toBe(0);
  handler.poke("h", "test");
  await new Promise((r) => setTimeout(r, 50));
  expect(runs.filter((id) => id > "d").sort()).toEqual(["e", "f"]);
});

describe.each(TEST_BROKERS)("on %s", (_name, config) => {
  test("a malformed event is nacked until it lands in the dead-letter topic; a good one is processed once", async () => {
    const broker = createBroker(config);
    const topic = topicName(uniqueNamespace(), "clusters");
    const sub = subscriptionName(topic, "validation");
    try {
      await broker.provision(topicTopology(topic, ["validation"]));
      const seen: string[] = [];
      const handler = createEventHandler({ log: silentLogger(), now: () => new Date(), reconcile: async (id) => (seen.push(id), done) });
      await broker.subscribe(sub, handler.handle);
      const dead: IncomingMessage[] = [];
      await broker.subscribe(deadLetterName(sub), async (m) => (dead.push(m), "ack"));
      await broker.publish(topic, { data: Buffer.from('{"specversion":"1.0"}') });
      await broker.publish(topic, { data: event("good").data });
      await eventually(() => (dead.length > 0 ? true : undefined), 60_000, 100);
      expect(dead[0].data.toString()).toBe('{"specversion":"1.0"}');
      expect(seen).toEqual(["good"]);
      expect(handler.stats().byOutcome.Malformed).toBeGreaterThanOrEqual(5);
    } finally {
      await broker.close();
    }
  }, 90_000);
});

test("events arriving while a cluster is reconciled collapse into one more run (work-queue semantics)", async () => {
  let runs = 0;
  const handler = createEventHandler({
    log: silentLogger(),
    now: () => new Date(),
    reconcile: async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 40));
      return done;
    },
  });
  // One running, then nine more while it runs: they need only one further run.
  const first = handler.handle(event("q"));
  await new Promise((r) => setTimeout(r, 5));
  const rest = await Promise.all(Array.from({ length: 9 }, () => handler.handle(event("q"))));
  await first;
  expect(rest.every((v) => v === "ack")).toBe(true);
  expect(runs).toBe(2);
  expect(handler.stats().byOutcome).toEqual({ Reported: 2, Coalesced: 8 });
  // After the queue drains, a new event runs again.
  await handler.handle(event("q"));
  expect(runs).toBe(3);
});
