/**
 * The Sentinel against the real API (real Postgres) and real brokers (Pub/Sub emulator, RabbitMQ),
 * with the seed's intervals compressed to milliseconds. Each test shards the fleet with its own
 * label, so tests never see each other's clusters. Timing is asserted on the Sentinel's own clock
 * (the CloudEvent `time` is the poll's start), or the Sentinel runs on a fixed clock and is polled by
 * hand, so a loaded machine slows these tests down but cannot fail them.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ResourceView } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { SentinelService } from "../../gen/hyperfleet/v1/sentinel_pb.js";
import { createApiClient } from "../shared/api-client.js";
import { createBroker, topicName, subscriptionName, topicTopology, type Broker } from "../shared/broker/index.js";
import { decodeReconcileEvent, type ReconcileEvent } from "../shared/events/index.js";
import { silentLogger } from "../shared/log.js";
import type { ShardRequirement } from "./core/due-query.js";
import { createClusterLister, createNodePoolLister } from "./resource-lister.js";
import { createServer } from "./server.js";
import { startApi, type TestApi } from "../../test/support/start-api.js";
import { startTcpProxy } from "../../test/support/tcp-proxy.js";
import { reportRequest } from "../../test/support/reports.js";
import { TEST_BROKERS, eventually, uniqueNamespace } from "../../test/support/brokers.js";
import { startBrokerFaults, type BrokerFaults } from "../../test/support/broker-faults.js";
import { createNoAuth } from "../shared/auth/index.js";

const INTERVALS = { pollIntervalMs: 100, maxAgeNotReadyMs: 500, maxAgeReadyMs: 2000, pageSize: 7 };
const ADAPTERS = ["validation", "dns", "placement"];
/** LABEL_SELECTOR=run=<shard>, as loadConfig parses it. */
const shardOn = (shard: string): ShardRequirement[] => [{ key: "run", op: "=", value: shard }];
/** Generous: only reached when something is broken. */
const WAIT_MS = 20_000;

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

describe.each(TEST_BROKERS)("sentinel on %s", (_name, brokerConfig) => {
  let broker: Broker;
  let topic: string;
  let received: { event: ReconcileEvent }[];
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    broker = createBroker(brokerConfig);
    topic = topicName(uniqueNamespace(), "clusters");
    await broker.provision(topicTopology(topic, ["collector"]));
    received = [];
    await broker.subscribe(subscriptionName(topic, "collector"), async (m) => {
      const d = decodeReconcileEvent(m.data);
      if (d.ok) received.push({ event: d.event });
      return "ack";
    });
  });
  afterEach(async () => {
    while (stops.length) await stops.pop()!();
  });
  afterAll(() => broker.close());

  /** A Sentinel sharded on `run=<shard>`, reading the API at `apiUrl`, on the real clock unless given `now`. */
  function sentinel(shard: string, opts: { apiUrl?: string; apiTimeoutMs?: number; now?: () => Date } = {}) {
    const lister = createClusterLister(createApiClient(opts.apiUrl ?? api.baseUrl, { timeoutMs: opts.apiTimeoutMs ?? 5000 }));
    const s = createServer({ lister, broker, log: silentLogger(), auth: createNoAuth(), now: opts.now, config: { ...INTERVALS, topic, selector: shardOn(shard), kind: "clusters", labelSelector: `run=${shard}` } });
    stops.push(() => s.poller.stop());
    return s;
  }
  const eventsFor = (id: string) => received.filter((r) => r.event.data.id === id);
  /** When the Sentinel published an event: the start of the poll that decided it, on the Sentinel's clock. */
  const publishedAt = (r: { event: ReconcileEvent }) => Date.parse(r.event.time);
  /** The cluster's status.last_updated_time: a fixed clock set to it makes the status exactly fresh. */
  const lastUpdated = async (id: string) => timestampDate((await api.clusters.getCluster({ id })).status!.lastUpdatedTime!);
  const newCluster = (shard: string, i = 0) => api.clusters.createCluster({ name: `c-${shard}-${i}`, labels: { run: shard }, spec: {} });
  /** Plays the three adapters: every event is answered with a report at the event's generation. */
  const reportAll = (id: string, generation: number, available: "True" | "False") =>
    Promise.all(ADAPTERS.map((adapter) => api.statuses.reportStatus(reportRequest({ resourceId: id, adapter, generation, at: new Date(), applied: "True", available }))));

  test("a new cluster gets an event at once, carrying {id, kind, href, generation} as a CloudEvent", async () => {
    const shard = uniqueNamespace("s");
    sentinel(shard).poller.start();
    const c = await newCluster(shard);
    const [first] = await eventually(() => (eventsFor(c.id).length ? eventsFor(c.id) : undefined), WAIT_MS);
    expect(first.event).toMatchObject({
      specversion: "1.0",
      type: "com.redhat.hyperfleet.cluster.reconcile",
      source: "hyperfleet-sentinel",
      datacontenttype: "application/json",
      data: { id: c.id, kind: "Cluster", href: c.href, generation: 1 },
    });
    expect(first.event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });

  describe("the watch path (WATCH=true)", () => {
    /** A Sentinel that polls once at start and then only every minute: what it publishes in between came by the watch. */
    function watching(shard: string, apiUrl = api.baseUrl) {
      const lister = createClusterLister(createApiClient(apiUrl, { timeoutMs: 1000 }));
      const s = createServer({ lister, broker, log: silentLogger(), auth: createNoAuth(), config: { ...INTERVALS, pollIntervalMs: 60_000, topic, selector: shardOn(shard), kind: "clusters", labelSelector: `run=${shard}`, watch: true } });
      stops.push(() => s.poller.stop(), () => s.watcher.stop());
      s.poller.start();
      s.watcher.start();
      return s;
    }
    const live = (s: ReturnType<typeof watching>) => eventually(() => (s.watcher.stats().live ? true : undefined), WAIT_MS);

    test("a new cluster and an update are published as they happen, between polls, once each", async () => {
      const shard = uniqueNamespace("w");
      const s = watching(shard);
      await live(s);
      await eventually(() => (s.poller.stats().polls >= 1 ? true : undefined), WAIT_MS);
      const c = await newCluster(shard);
      await eventually(() => (eventsFor(c.id).length ? true : undefined), WAIT_MS);
      await api.clusters.updateCluster({ id: c.id, spec: { v: 2 } });
      await eventually(() => (eventsFor(c.id).some((r) => r.event.data.generation === 2) ? true : undefined), WAIT_MS);
      expect(s.poller.stats().polls).toBe(1);
      expect(s.poller.stats().watchPublished).toBe(2);
      // Another cluster's reports, or this one's, publish nothing more: only a new generation does.
      await reportAll(c.id, 2, "False");
      await api.clusters.createCluster({ name: `other-${shard}`, labels: { run: `${shard}-x` }, spec: {} });
      const status = await createClient(SentinelService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${await s.server.listen(0, "127.0.0.1")}` })).getStatus({});
      stops.push(() => s.server.close());
      expect(status.watchLive).toBe(true);
      expect(status.watchEventsPublishedTotal).toBe(2n);
      expect(eventsFor(c.id).map((r) => r.event.data.generation)).toEqual([1, 2]);
    });

    test("the API connection breaking: the watch goes dead, reconnects with backoff and resumes, missing nothing", async () => {
      const shard = uniqueNamespace("w");
      const proxy = await startTcpProxy({ host: "127.0.0.1", port: api.port });
      stops.push(() => proxy.close());
      const s = watching(shard, `http://127.0.0.1:${proxy.port}`);
      await live(s);
      await proxy.cut();
      await eventually(() => (s.watcher.stats().live ? undefined : true), WAIT_MS);
      // Made while the Sentinel cannot reach the API: the resumed watch brings it, not a poll.
      const c = await newCluster(shard);
      await proxy.restore();
      await eventually(() => (eventsFor(c.id).length ? true : undefined), WAIT_MS);
      expect(s.watcher.stats().reconnects).toBeGreaterThanOrEqual(1);
      expect(s.poller.stats().polls).toBe(1);
      expect(s.poller.stats().watchPublished).toBe(1);
    });
  });

  test("NotReady: events at the not-ready cadence while adapters keep reporting; none in between", async () => {
    const shard = uniqueNamespace("s");
    const c = await newCluster(shard);
    await reportAll(c.id, 1, "False");
    sentinel(shard).poller.start();
    // Play the adapters: answer each event with fresh reports, until three events have come.
    for (let n = 1; n <= 3; n++) {
      await eventually(() => (eventsFor(c.id).length >= n ? true : undefined), WAIT_MS, 20);
      await reportAll(c.id, 1, "False");
    }
    // Never one per 100 ms poll: each event is at least max_age_not_ready after the one before (spec §5).
    const times = eventsFor(c.id).map(publishedAt);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(INTERVALS.maxAgeNotReadyMs);
  });

  test("Ready: no events until max age ready (the drift check)", async () => {
    const shard = uniqueNamespace("s");
    const c = await newCluster(shard);
    // Taken before the reports: their report times (and so last_updated_time) come after it.
    const readyAt = Date.now();
    await reportAll(c.id, 1, "True");
    sentinel(shard).poller.start();
    const drift = await eventually(() => eventsFor(c.id)[0], WAIT_MS);
    expect(publishedAt(drift) - readyAt).toBeGreaterThan(INTERVALS.maxAgeReadyMs);
    expect(drift.event.data.generation).toBe(1);
  });

  test("Ready: an update publishes the new generation on the very next poll", async () => {
    const shard = uniqueNamespace("s");
    const c = await newCluster(shard);
    await reportAll(c.id, 1, "True");
    // A fixed clock at the status's last update: Ready and fresh, however long this test takes.
    const at = await lastUpdated(c.id);
    const s = sentinel(shard, { now: () => at });
    expect(await s.poller.pollOnce()).toMatchObject({ ok: true, published: 0 });
    await api.clusters.updateCluster({ id: c.id, spec: { v: 2 } });
    expect(await s.poller.pollOnce()).toMatchObject({ ok: true, published: 1 });
    const gen2 = await eventually(() => eventsFor(c.id).find((r) => r.event.data.generation === 2), WAIT_MS);
    expect(eventsFor(c.id)).toEqual([gen2]);
  });

  test("one poll covers every page and publishes each due cluster exactly once", async () => {
    const shard = uniqueNamespace("s");
    const ids = new Set<string>();
    for (let i = 0; i < 30; i++) ids.add((await newCluster(shard, i)).id);
    const at = new Date();
    const s = sentinel(shard, { now: () => at });
    const result = await s.poller.pollOnce();
    expect(result).toMatchObject({ ok: true, due: 30, published: 30 });
    // Once each: a second poll at the same instant finds them all just published.
    expect(await s.poller.pollOnce()).toMatchObject({ ok: true, seen: 30, due: 0, published: 0 });
    await eventually(() => ([...ids].every((id) => eventsFor(id).length === 1) ? true : undefined), WAIT_MS);
  });

  test("two Sentinels with disjoint label selectors cover a fleet exactly once", async () => {
    const [a, b] = [uniqueNamespace("a"), uniqueNamespace("b")];
    const ids = [...(await Promise.all([0, 1, 2, 3, 4].map((i) => newCluster(a, i)))), ...(await Promise.all([0, 1, 2, 3, 4, 5].map((i) => newCluster(b, i))))].map((c) => c.id);
    const [ra, rb] = await Promise.all([sentinel(a).poller.pollOnce(), sentinel(b).poller.pollOnce()]);
    expect([ra.published, rb.published]).toEqual([5, 6]);
    await eventually(() => (ids.every((id) => eventsFor(id).length === 1) ? true : undefined), WAIT_MS);
  });

  test("the API going away: polls fail and are counted, the Sentinel stays up and catches up when it returns", async () => {
    const shard = uniqueNamespace("s");
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: api.port });
    stops.push(() => proxy.close());
    const s = sentinel(shard, { apiUrl: `http://127.0.0.1:${proxy.port}`, apiTimeoutMs: 1000 });
    s.poller.start();
    await proxy.cut();
    const c = await newCluster(shard);
    await eventually(() => (s.poller.stats().errors >= 2 ? true : undefined), WAIT_MS);
    expect(eventsFor(c.id)).toHaveLength(0);
    await proxy.restore();
    await eventually(() => (eventsFor(c.id).length ? true : undefined), WAIT_MS);
    expect(s.poller.stats().lastError?.message).toMatch(/^list: /);
  });

  test("clusters whose spec is 60 levels deep or megabytes large do not stop a poll: the Sentinel never reads specs", async () => {
    const shard = uniqueNamespace("s");
    const clusters = await Promise.all([0, 1, 2, 3].map((i) => newCluster(shard, i)));
    // What an older API accepted (today's input limits refuse both), written straight to the rows.
    let deep: object = { leaf: true };
    for (let i = 0; i < 60; i++) deep = { nested: deep };
    await api.db("clusters").where({ id: clusters[1].id }).update({ spec: JSON.stringify(deep) });
    await api.db("clusters").where({ id: clusters[2].id }).update({ spec: JSON.stringify({ blob: "x".repeat(3_000_000) }) });
    const at = new Date();
    const result = await sentinel(shard, { now: () => at }).poller.pollOnce();
    expect(result).toMatchObject({ ok: true, due: 4, published: 4, skipped: 0 });
    await eventually(() => (clusters.every((c) => eventsFor(c.id).length === 1) ? true : undefined), WAIT_MS);
  });

  test("a cluster the API cannot list is skipped and counted; the rest of the fleet gets its events, and it gets its own once fixed", async () => {
    const shard = uniqueNamespace("s");
    const clusters = [];
    for (let i = 0; i < 12; i++) clusters.push(await newCluster(shard, i));
    const bad = clusters[4];
    // A row the API cannot render (a time JavaScript cannot hold), as hand-edited data can be.
    await api.db("clusters").where({ id: bad.id }).update({ created_time: "infinity" });
    const alone = await api.clusters.listClusters({ filter: `id = '${bad.id}'`, view: ResourceView.STATUS }).catch((e: unknown) => ConnectError.from(e));
    expect(alone).toMatchObject({ code: Code.Internal });

    const at = new Date();
    const s = sentinel(shard, { now: () => at });
    expect(await s.poller.pollOnce()).toMatchObject({ ok: true, due: 11, published: 11, skipped: 1 });
    const others = clusters.filter((c) => c !== bad);
    await eventually(() => (others.every((c) => eventsFor(c.id).length === 1) ? true : undefined), WAIT_MS);
    expect(eventsFor(bad.id)).toEqual([]);
    expect(await s.metrics.registry.metrics()).toMatch(/^hyperfleet_sentinel_skipped_total\{reason="list"\} 1$/m);
    expect(s.poller.stats().lastError?.message).toContain(bad.id);
    // Still healthy: one bad row is the data's problem, not the Sentinel's.
    expect(s.healthy()).toBe(true);

    // Retried every poll: once it can be listed again, it gets its event.
    await api.db("clusters").where({ id: bad.id }).update({ created_time: new Date() });
    expect(await s.poller.pollOnce()).toMatchObject({ ok: true, published: 1, skipped: 0 });
    await eventually(() => eventsFor(bad.id)[0], WAIT_MS);
  });

  test("a nodepool Sentinel publishes nodepool events carrying owner_references to the cluster", async () => {
    const shard = uniqueNamespace("s");
    const c = await newCluster(shard);
    const np = await api.nodepools.createNodePool({ clusterId: c.id, name: "np-evt", labels: { run: shard }, spec: {} });
    const s = createServer({
      lister: createNodePoolLister(createApiClient(api.baseUrl)),
      broker,
      log: silentLogger(), auth: createNoAuth(),
      config: { ...INTERVALS, topic, selector: shardOn(shard), kind: "nodepools", labelSelector: `run=${shard}` },
    });
    expect((await s.poller.pollOnce()).published).toBe(1);
    const e = await eventually(() => eventsFor(np.id)[0], WAIT_MS);
    expect(e.event.type).toBe("com.redhat.hyperfleet.nodepool.reconcile");
    expect(e.event.data).toEqual({
      id: np.id,
      kind: "NodePool",
      href: np.href,
      generation: 1,
      owner_references: { id: c.id, kind: "Cluster", href: `/api/hyperfleet/v1/clusters/${c.id}` },
    });
  });

  test("SentinelService: GetStatus reports the polls; Reconcile publishes now; health follows the polls", async () => {
    const shard = uniqueNamespace("s");
    const c = await newCluster(shard);
    await reportAll(c.id, 1, "True");
    // A fixed clock: the status stays fresh (nothing due) and the last poll recent (healthy) however slow this runs.
    const at = await lastUpdated(c.id);
    const s = sentinel(shard, { now: () => at });
    const port = await s.server.listen(0, "127.0.0.1");
    stops.push(() => s.server.close(100));
    const client = createClient(SentinelService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
    await s.poller.pollOnce();
    const status = await client.getStatus({});
    expect(status).toMatchObject({ resourceKind: "clusters", labelSelector: `run=${shard}`, topic, pollsTotal: 1n, lastPollDue: 0n });
    expect(status.lastSuccessfulPollTime).toBeDefined();
    const r = await client.reconcile({ resourceId: c.id });
    expect(r.generation).toBe(1n);
    await eventually(() => eventsFor(c.id).find((e) => e.event.id === r.eventId), WAIT_MS);
    expect(s.healthy()).toBe(true);
    await expect(client.reconcile({ resourceId: "0190aaaa-0000-7000-8000-000000000000" })).rejects.toThrow(/not found/);
  });
});

/**
 * The Sentinel on a broker of the test's own that the test breaks (test/support/broker-faults.ts):
 * stopped (the emulator then comes back empty), and its topic deleted.
 */
describe.each(["pubsub", "rabbitmq"] as const)("sentinel on %s when the broker goes away or loses the topic", (kind) => {
  /** Generous: only reached when something is broken (an emulator takes seconds to start). */
  const WAIT = 60_000;
  let faults: BrokerFaults;
  beforeAll(async () => {
    faults = await startBrokerFaults(kind);
  }, WAIT);
  afterAll(() => faults?.close());

  test("failed publishes show in health and GetStatus; it provisions its topic again and publishes", async () => {
    const shard = uniqueNamespace("s");
    const topic = topicName(uniqueNamespace(), "clusters");
    const broker = createBroker(faults.config);
    const received: ReconcileEvent[] = [];
    const s = createServer({
      lister: createClusterLister(createApiClient(api.baseUrl)),
      broker,
      log: silentLogger(), auth: createNoAuth(),
      config: { ...INTERVALS, topic, selector: shardOn(shard), kind: "clusters", labelSelector: `run=${shard}`, adapters: ["collector"] },
    });
    try {
      // As main.ts does at startup.
      await broker.provision(topicTopology(topic, ["collector"]));
      // The collector plays an adapter that does not provision anything itself: it consumes only once
      // the Sentinel has provisioned its subscription again.
      await broker.subscribe(
        subscriptionName(topic, "collector"),
        async (m) => {
          const d = decodeReconcileEvent(m.data);
          if (d.ok) received.push(d.event);
          return "ack";
        },
        { retry: { initialMs: 100, maxMs: 1000 }, checkEveryMs: 250 },
      );
      s.poller.start();
      // NotReady: an event every maxAgeNotReady (500 ms) for as long as the test runs.
      const c = await api.clusters.createCluster({ name: `c-${shard}`, labels: { run: shard }, spec: {} });
      const eventAfter = (t: number) => eventually(() => received.find((e) => e.data.id === c.id && Date.parse(e.time) > t), WAIT);
      await eventAfter(0);

      await faults.stop();
      // A publish waits out its timeout before it fails: health may turn first.
      await eventually(() => (!s.healthy() && s.poller.stats().lastError?.message.startsWith("publish: ") ? true : undefined), WAIT);
      await faults.start();
      const back = Date.now();
      await eventAfter(back);
      await eventually(() => (s.healthy() ? true : undefined), WAIT);

      await faults.deleteTopic(topic);
      const deleted = Date.now();
      await eventAfter(deleted);
      const metrics = await s.metrics.registry.metrics();
      expect(Number(/^hyperfleet_sentinel_broker_reprovisions_total\{result="ok"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(kind === "pubsub" ? 2 : 1);
    } finally {
      await s.poller.stop();
      await broker.close();
    }
  }, 5 * 60_000);
});
