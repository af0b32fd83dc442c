import { pino } from "pino";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdapterService } from "../../gen/hyperfleet/v1/adapter_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { createBroker, deadLetterName, subscriptionName, topicName, topicTopology, type IncomingMessage } from "../shared/broker/index.js";
import { encodeReconcileEvent, newReconcileEvent, type ReconcileData } from "../shared/events/index.js";
import { silentLogger } from "../shared/log.js";
import { createEventHandler, superseded } from "./consumer.js";
import type { ReconcileResult } from "./reconcile.js";
import { createServer } from "./server.js";
import { adapterSubscription } from "./config.js";
import { TEST_BROKERS, eventually, uniqueNamespace } from "../../test/support/brokers.js";
import { startAdapterHarness, type AdapterHarness } from "../../test/support/adapter-harness.js";
import { startBrokerFaults, type BrokerFaults } from "../../test/support/broker-faults.js";
import { createNoAuth } from "../shared/auth/index.js";

const message = (data: ReconcileData) => ({
  id: `m-${data.id}-${Math.random()}`,
  data: encodeReconcileEvent(newReconcileEvent(data, `e-${Math.random()}`, new Date())),
  attributes: {},
  deliveryAttempt: 1,
});
const event = (id: string) => message({ id, kind: "Cluster", href: `/api/hyperfleet/v1/clusters/${id}`, generation: 1 });
const nodePoolEvent = (id: string, clusterId: string) =>
  message({ id, kind: "NodePool", href: `/api/hyperfleet/v1/nodepools/${id}`, generation: 1, owner_references: { id: clusterId, kind: "Cluster", href: `/api/hyperfleet/v1/clusters/${clusterId}` } });
const done: ReconcileResult = { outcome: "Reported", trace: [], objects: [] };

/** Lets queued promise callbacks and the handler's follow-up work run (no timers involved). */
const settle = () => new Promise((r) => setImmediate(r));

/**
 * A reconcile the test finishes by hand: each call is recorded when it starts and returns only when
 * released, so what overlaps is decided by the test, not by timers racing a loaded machine.
 */
function gatedReconcile(result: ReconcileResult = done) {
  const started: string[] = [];
  const gates: (() => void)[] = [];
  let running = 0;
  let maxRunning = 0;
  const perId = new Map<string, number>();
  let maxSameId = 0;
  return {
    started,
    running: () => running,
    maxRunning: () => maxRunning,
    maxSameId: () => maxSameId,
    async reconcile(id: string): Promise<ReconcileResult> {
      started.push(id);
      maxRunning = Math.max(maxRunning, ++running);
      perId.set(id, (perId.get(id) ?? 0) + 1);
      maxSameId = Math.max(maxSameId, perId.get(id)!);
      await new Promise<void>((release) => gates.push(release));
      perId.set(id, perId.get(id)! - 1);
      running--;
      return result;
    },
    /** Releases every reconcile waiting now (not ones that start after). */
    releaseAll() {
      for (const release of gates.splice(0)) release();
    },
    /** Releases reconciles, and the ones they let start, until nothing is running. */
    async drain() {
      await settle();
      while (gates.length > 0) {
        this.releaseAll();
        await settle();
      }
    },
  };
}

test("events for one cluster never overlap; different clusters run in parallel", async () => {
  const g = gatedReconcile();
  const handler = createEventHandler({ resourceKind: "clusters", log: silentLogger(), now: () => new Date(), reconcile: (id) => g.reconcile(id) });
  const verdicts = Promise.all([event("a"), event("a"), event("a"), event("b"), event("c")].map((m) => handler.handle(m)));
  await eventually(() => (g.running() === 3 ? true : undefined));
  expect(g.started.sort()).toEqual(["a", "b", "c"]);
  await g.drain();
  expect(await verdicts).toEqual(["ack", "ack", "ack", "ack", "ack"]);
  expect(g.maxSameId()).toBe(1);
  // Three events for "a" at once: one run, one queued run, and the third joins the queued one.
  expect(handler.stats().byOutcome).toEqual({ Reported: 4, Coalesced: 1 });
});

test("a reconcile that throws is counted, logged and still acked (the Sentinel retries)", async () => {
  const handler = createEventHandler({ resourceKind: "clusters", log: silentLogger(), now: () => new Date(), reconcile: async () => Promise.reject(new Error("boom")) });
  expect(await handler.handle(event("x"))).toBe("ack");
  expect(handler.stats()).toMatchObject({ byOutcome: { Failed: 1 }, lastError: { message: "boom" } });
});

test("pokes (owned objects changed) are deduplicated while waiting, bounded in number, and share the per-resource queue", async () => {
  const g = gatedReconcile();
  const handler = createEventHandler({ resourceKind: "clusters", log: silentLogger(), now: () => new Date(), maxPoked: 2, reconcile: (id) => g.reconcile(id) });
  const event1 = handler.handle(event("a")); // an event for "a" is running when "a" is poked
  await eventually(() => (g.started.length === 1 ? true : undefined));
  for (const id of ["a", "b", "c", "c", "d", "d", "d"]) handler.poke(id, "test");
  await settle();
  // Two poke slots: "a" (queued behind its event's run) and "b"; c and d wait.
  expect(g.started).toEqual(["a", "b"]);
  await g.drain();
  await event1;
  // "a" runs again after its event (the world may have changed meanwhile); c and d once each.
  expect([...g.started].sort()).toEqual(["a", "a", "b", "c", "d"]);
  expect(g.maxRunning()).toBeLessThanOrEqual(3); // the event's run plus at most two poked ones

  // Shutdown: waiting pokes are dropped, running ones awaited, later ones ignored.
  for (const id of ["e", "f", "g"]) handler.poke(id, "test");
  await settle();
  const closed = handler.close();
  g.releaseAll();
  await closed;
  expect(g.running()).toBe(0);
  handler.poke("h", "test");
  await settle();
  expect(g.running()).toBe(0);
  expect(g.started.filter((id) => id > "d").sort()).toEqual(["e", "f"]);
});

test("events arriving while a cluster is reconciled collapse into one more run (work-queue semantics)", async () => {
  const g = gatedReconcile();
  const handler = createEventHandler({ resourceKind: "clusters", log: silentLogger(), now: () => new Date(), reconcile: (id) => g.reconcile(id) });
  // One running, then nine more while it runs: they need only one further run.
  const first = handler.handle(event("q"));
  await eventually(() => (g.started.length === 1 ? true : undefined));
  const rest = Promise.all(Array.from({ length: 9 }, () => handler.handle(event("q"))));
  await g.drain();
  await first;
  expect((await rest).every((v) => v === "ack")).toBe(true);
  expect(g.started).toEqual(["q", "q"]);
  expect(handler.stats().byOutcome).toEqual({ Reported: 2, Coalesced: 8 });
  // After the queue drains, a new event runs again.
  const again = handler.handle(event("q"));
  await g.drain();
  await again;
  expect(g.started).toHaveLength(3);
});

describe("log lines name the resource by its kind", () => {
  /** A real pino logger writing parsed lines into an array. */
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    return { lines, log };
  }

  test.each([
    ["a cluster event: clusterId", "clusters", event("c1"), done, { clusterId: "c1" }],
    ["a nodepool event: nodePoolId, and clusterId from the event's owner", "nodepools", nodePoolEvent("np1", "c9"), done, { nodePoolId: "np1", clusterId: "c9" }],
    ["a nodepool event: the cluster the reconcile read wins", "nodepools", nodePoolEvent("np1", "c9"), { ...done, clusterId: "c7" }, { nodePoolId: "np1", clusterId: "c7" }],
  ] as const)("%s", async (_name, resourceKind, msg, result, want) => {
    const { lines, log } = capture();
    const handler = createEventHandler({ resourceKind, log, now: () => new Date(), reconcile: async () => result });
    await handler.handle(msg);
    const line = lines.find((l) => l.msg === "event processed")!;
    expect(line).toMatchObject(want);
    if (resourceKind === "nodepools") expect(line.clusterId).not.toBe("np1");
    else expect(line).not.toHaveProperty("nodePoolId");
  });

  test("a poked nodepool whose reconcile failed: nodePoolId only (its cluster was never read)", async () => {
    const { lines, log } = capture();
    const handler = createEventHandler({ resourceKind: "nodepools", log, now: () => new Date(), reconcile: async () => Promise.reject(new Error("boom")) });
    handler.poke("np2", "owned Job changed");
    await handler.close();
    await settle();
    const line = lines.find((l) => l.msg === "event failed")!;
    expect(line).toMatchObject({ nodePoolId: "np2", trigger: "watch" });
    expect(line).not.toHaveProperty("clusterId");
  });

  test("a poked nodepool: clusterId from the reconcile's result", async () => {
    const { lines, log } = capture();
    const handler = createEventHandler({ resourceKind: "nodepools", log, now: () => new Date(), reconcile: async () => ({ ...done, clusterId: "c3" }) });
    handler.poke("np3", "owned Job changed");
    await eventually(() => lines.find((l) => l.msg === "event processed"));
    expect(lines.find((l) => l.msg === "event processed")).toMatchObject({ nodePoolId: "np3", clusterId: "c3", trigger: "watch" });
  });
});

describe.each(TEST_BROKERS)("on %s", (_name, config) => {
  test("a malformed event is nacked until it lands in the dead-letter topic; a good one is processed once", async () => {
    const broker = createBroker(config);
    const topic = topicName(uniqueNamespace(), "clusters");
    const sub = subscriptionName(topic, "validation");
    try {
      await broker.provision(topicTopology(topic, ["validation"]));
      const seen: string[] = [];
      const handler = createEventHandler({ resourceKind: "clusters", log: silentLogger(), now: () => new Date(), reconcile: async (id) => (seen.push(id), done) });
      await broker.subscribe(sub, handler.handle);
      const dead: IncomingMessage[] = [];
      await broker.subscribe(deadLetterName(sub), async (m) => (dead.push(m), "ack"));
      await broker.publish(topic, { data: Buffer.from('{"specversion":"1.0"}') });
      await broker.publish(topic, { data: event("good").data });
      await eventually(() => (dead.length > 0 ? true : undefined), 60_000, 100);
      await eventually(() => (seen.length > 0 ? true : undefined));
      expect(dead[0].data.toString()).toBe('{"specversion":"1.0"}');
      expect(seen).toEqual(["good"]);
      expect(handler.stats().byOutcome.Malformed).toBeGreaterThanOrEqual(5);
    } finally {
      await broker.close();
    }
  }, 90_000);
});

/**
 * The adapter as main.ts wires it, on a broker of the test's own that the test breaks: the real API
 * and the stand-in behind it, its grpc health and GetStatus on a real port.
 */
describe.each(["pubsub", "rabbitmq"] as const)("an adapter on %s that loses its subscription", (kind) => {
  /** Generous: only reached when something is broken (an emulator takes seconds to start). */
  const WAIT_MS = 60_000;
  let faults: BrokerFaults;
  let h: AdapterHarness;
  beforeAll(async () => {
    [faults, h] = await Promise.all([startBrokerFaults(kind), startAdapterHarness(["validation"])]);
  }, WAIT_MS);
  afterAll(async () => {
    await faults?.close();
    await h?.close();
  });

  test("health goes NOT_SERVING and GetStatus says why; it re-provisions, resubscribes and consumes new events", async () => {
    const ns = uniqueNamespace();
    const topic = topicName(ns, "clusters");
    const sub = adapterSubscription(ns, "clusters", "validation");
    const owned = topicTopology(topic, ["validation"]);
    const broker = createBroker(faults.config, () => undefined, `adapter-${ns}`);
    await broker.provision(owned);
    const a = createServer({ plan: h.plans.validation, api: h.client, kube: h.kube, subscription: sub, log: silentLogger(), auth: createNoAuth() });
    const port = await a.server.listen(0, "127.0.0.1");
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` });
    const health = createClient(Health, transport);
    const status = createClient(AdapterService, transport);
    const serving = async () => (await health.check({})).status;
    try {
      expect(await serving()).toBe(ServingStatus.NOT_SERVING);
      // As main.ts subscribes, with a first retry slow enough for the test to see the gap.
      await broker.subscribe(sub, a.handler.handle, { maxInFlight: 4, ensure: () => broker.provision(owned), onState: a.observeConsumer, retry: { initialMs: 3000, maxMs: 4000 }, checkEveryMs: 250 });
      expect(await serving()).toBe(ServingStatus.SERVING);
      expect(await status.getStatus({})).toMatchObject({ consuming: true, notConsumingReason: "", resubscribes: 0n });

      /** Publishes a reconcile event for a new cluster until the broker takes it; waits until the adapter reported on it. */
      const consumes = async (name: string) => {
        const c = await h.api.clusters.createCluster({ name: `${name}-${ns}`, spec: {} });
        const m = message({ id: c.id, kind: "Cluster", href: c.href, generation: 1 });
        await eventually(() => broker.publish(topic, { data: m.data }).then(() => true, () => undefined), WAIT_MS, 200);
        await eventually(async () => ((await h.client.statuses.listStatuses({ resourceId: c.id })).statuses.some((s) => s.adapter === "validation") ? true : undefined), WAIT_MS, 100);
      };
      await consumes("before");

      // The subscription (queue) is deleted behind its back.
      await faults.deleteSubscription(sub);
      await eventually(async () => ((await serving()) === ServingStatus.NOT_SERVING ? true : undefined), WAIT_MS);
      const missing = await status.getStatus({});
      expect(missing).toMatchObject({ consuming: false, notConsumingReason: expect.stringContaining(sub) });
      expect(missing.consumingChangedTime).toBeDefined();
      await eventually(async () => ((await serving()) === ServingStatus.SERVING ? true : undefined), WAIT_MS);
      expect((await status.getStatus({})).resubscribes).toBe(1n);
      await consumes("after-delete");

      // The broker restarts (the emulator comes back empty; RabbitMQ's connections are cut).
      await faults.stop();
      await eventually(async () => ((await serving()) === ServingStatus.NOT_SERVING ? true : undefined), WAIT_MS);
      expect((await status.getStatus({})).notConsumingReason).not.toBe("");
      await faults.start();
      await eventually(async () => ((await serving()) === ServingStatus.SERVING ? true : undefined), WAIT_MS);
      await consumes("after-restart");

      const metrics = await a.metrics.registry.metrics();
      expect(metrics).toMatch(/^hyperfleet_adapter_broker_consuming\{adapter="validation"\} 1$/m);
      // At least one per fault; a broker that flaps while it comes back may cost one more.
      expect(Number(/^hyperfleet_adapter_broker_resubscribes_total\{adapter="validation"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
    } finally {
      await a.handler.close();
      await broker.close();
      await a.server.close(100);
    }
  }, 5 * 60_000);
});

describe("events a later reconcile already covered are Superseded", () => {
  const at = (ms: number) => ({ id: `m-${ms}`, data: encodeReconcileEvent(newReconcileEvent({ id: "c1", kind: "Cluster", href: "/api/hyperfleet/v1/clusters/c1", generation: 1 }, `e-${ms}`, new Date(ms))), attributes: {}, deliveryAttempt: 1 });

  test.each([
    ["no reconcile yet", 5_000, undefined, false],
    ["reconcile started 2 s after the event (skew 1 s) → covered", 5_000, 7_000, true],
    ["boundary: started exactly skew after → not covered", 5_000, 6_000, false],
    ["reconcile started before the event → not covered", 5_000, 4_000, false],
    ["unparseable event time → never covered", NaN, 7_000, false],
  ] as [string, number, number | undefined, boolean][])("superseded(): %s", (_name, eventMs, lastStart, want) => {
    expect(superseded(eventMs, lastStart, 1000)).toBe(want);
  });

  test("a backlog of old events after a successful reconcile costs no reconcile; a failed one covers nothing", async () => {
    let clock = 10_000;
    const outcomes: string[] = [];
    let result: ReconcileResult = done;
    const reconciled: number[] = [];
    const ages: number[] = [];
    const handler = createEventHandler({
      resourceKind: "clusters",
      log: silentLogger(),
      now: () => new Date(clock),
      reconcile: async () => (reconciled.push(clock), result),
      observe: (outcome) => void outcomes.push(outcome),
      observeEventAge: (s) => void ages.push(s),
    });
    expect(await handler.handle(at(9_000))).toBe("ack");
    expect(ages).toEqual([1]);
    // Events published before that reconcile started (10 s), older than the skew: skipped.
    clock = 12_000;
    for (const t of [7_000, 8_000, 8_999]) expect(await handler.handle(at(t))).toBe("ack");
    expect(reconciled).toEqual([10_000]);
    expect(outcomes).toEqual(["Reported", "Superseded", "Superseded", "Superseded"]);
    // Within the skew of the reconcile's start, or after it: reconciled.
    await handler.handle(at(9_500));
    expect(reconciled).toEqual([10_000, 12_000]);
    // A reconcile that failed leaves the next event its retry.
    result = { ...done, outcome: "ApiError", error: "unavailable" };
    clock = 20_000;
    await handler.handle(at(19_000));
    clock = 25_000;
    await handler.handle(at(15_000));
    expect(reconciled).toEqual([10_000, 12_000, 20_000, 25_000]);
  });
});
