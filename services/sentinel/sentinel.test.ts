/**
 * The Sentinel against the real API (real Postgres) and real brokers (Pub/Sub emulator, RabbitMQ),
 * with the seed's intervals compressed to milliseconds. Each test shards the fleet with its own
 * label, so tests never see each other's clusters.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { SentinelService } from "../../gen/hyperfleet/v1/sentinel_pb.js";
import { createApiClient } from "../shared/api-client.js";
import { createBroker, topicName, subscriptionName, topicTopology, type Broker } from "../shared/broker/index.js";
import { decodeReconcileEvent, type ReconcileEvent } from "../shared/events/index.js";
import { silentLogger } from "../shared/log.js";
import { parseLabelSelector } from "./core/due-query.js";
import { createClusterLister, createNodePoolLister } from "./resource-lister.js";
import { createServer } from "./server.js";
import { startApi, type TestApi } from "../../test/support/start-api.js";
import { startTcpProxy } from "../../test/support/tcp-proxy.js";
import { reportRequest } from "../../test/support/reports.js";
import { TEST_BROKERS, eventually, uniqueNamespace } from "../../test/support/brokers.js";

const INTERVALS = { pollIntervalMs: 100, maxAgeNotReadyMs: 500, maxAgeReadyMs: 2000, pageSize: 7 };
const ADAPTERS = ["validation", "dns", "placement"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

describe.each(TEST_BROKERS)("sentinel on %s", (_name, brokerConfig) => {
  let broker: Broker;
  let topic: string;
  let received: { event: ReconcileEvent; at: number }[];
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    broker = createBroker(brokerConfig);
    topic = topicName(uniqueNamespace(), "clusters");
    await broker.provision(topicTopology(topic, ["collector"]));
    received = [];
    await broker.subscribe(subscriptionName(topic, "collector"), async (m) => {
      const d = decodeReconcileEvent(m.data);
      if (d.ok) received.push({ event: d.event, at: Date.now() });
      return "ack";
    });
  });
  afterEach(async () => {
    while (stops.length) await stops.pop()!();
  });
  afterAll(() => broker.close());

  /** A Sentinel sharded on `run=<shard>`, reading the API at `apiUrl`. */
  function sentinel(shard: string, apiUrl = api.baseUrl) {
    const selector = parseLabelSelector(`run=${shard}`);
    if (!selector.ok) throw new Error(selector.error);
    const lister = createClusterLister(createApiClient(apiUrl, { timeoutMs: 1000 }));
    const s = createServer({ lister, broker, log: silentLogger(), config: { ...INTERVALS, topic, selector: selector.requirements, kind: "clusters", labelSelector: `run=${shard}` } });
    stops.push(() => s.poller.stop());
    return s;
  }
  const eventsFor = (id: string) => received.filter((r) => r.event.data.id === id);
  const newCluster = (shard: string, i = 0) => api.clusters.createCluster({ name: `c-${shard}-${i}`, labels: { run: shard }, spec: {} });
  /** Plays the three adapters: every event is answered with a report at the event's generation. */
  const reportAll = (id: string, generation: number, available: "True" | "False") =>
    Promise.all(ADAPTERS.map((adapter) => api.statuses.reportStatus(reportRequest({ resourceId: id, adapter, generation, at: new Date(), applied: "True", available }))));

  test("a new cluster gets an event at once, carrying {id, kind, href, generation} as a CloudEvent", async () => {
    const shard = uniqueNamespace("s");
    sentinel(shard).poller.start();
    const c = await newCluster(shard);
    const [first] = await eventually(() => (eventsFor(c.id).length ? eventsFor(c.id) : undefined), 5000);
    expect(first.event).toMatchObject({
      specversion: "1.0",
      type: "com.redhat.hyperfleet.cluster.reconcile",
      source: "hyperfleet-sentinel",
      datacontenttype: "application/json",
      data: { id: c.id, kind: "Cluster", href: c.href, generation: 1 },
    });
    expect(first.event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });

  test("NotReady: events at the not-ready cadence while adapters keep reporting; none in between", async () => {
    const shard = uniqueNamespace("s");
    const c = await newCluster(shard);
    await reportAll(c.id, 1, "False");
    sentinel(shard).poller.start();
    const start = Date.now();
    let answered = 0;
    while (Date.now() - start < 2600) {
      const evs = eventsFor(c.id);
      if (evs.length > answered) {
        answered = evs.length;
        await reportAll(c.id, 1, "False");
      }
      await sleep(20);
    }
    const times = eventsFor(c.id).map((r) => r.at);
    // 2.6 s at one event per ≥500 ms of staleness: a handful, not one per 100 ms poll.
    expect(times.length).toBeGreaterThanOrEqual(2);
    expect(times.length).toBeLessThanOrEqual(6);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(400);
  });

  test("Ready: no events until max age ready (drift check); an update publishes generation 2 at once", async () => {
    const shard = uniqueNamespace("s");
    const c = await newCluster(shard);
    // Taken before the reports: their observed times (and so last_updated_time) come after it.
    const readyAt = Date.now();
    await reportAll(c.id, 1, "True");
    sentinel(shard).poller.start();
    const drift = await eventually(() => eventsFor(c.id)[0], 6000);
    expect(drift.at - readyAt).toBeGreaterThanOrEqual(INTERVALS.maxAgeReadyMs - 100);
    expect(drift.event.data.generation).toBe(1);
    await reportAll(c.id, 1, "True");

    const before = eventsFor(c.id).length;
    const updatedAt = Date.now();
    await api.clusters.updateCluster({ id: c.id, spec: { v: 2 } });
    const gen2 = await eventually(() => eventsFor(c.id).find((r) => r.event.data.generation === 2), 3000);
    expect(gen2.at - updatedAt).toBeLessThan(1500);
    expect(eventsFor(c.id).length).toBeGreaterThan(before);
  });

  test("one poll covers every page and publishes each due cluster exactly once", async () => {
    const shard = uniqueNamespace("s");
    const ids = new Set<string>();
    for (let i = 0; i < 30; i++) ids.add((await newCluster(shard, i)).id);
    const result = await sentinel(shard).poller.pollOnce();
    expect(result).toMatchObject({ ok: true, due: 30, published: 30 });
    await eventually(() => ([...ids].every((id) => eventsFor(id).length === 1) ? true : undefined), 5000);
    await sleep(300);
    expect([...ids].map((id) => eventsFor(id).length)).toEqual([...ids].map(() => 1));
  });

  test("two Sentinels with disjoint label selectors cover a fleet exactly once", async () => {
    const [a, b] = [uniqueNamespace("a"), uniqueNamespace("b")];
    const ids = [...(await Promise.all([0, 1, 2, 3, 4].map((i) => newCluster(a, i)))), ...(await Promise.all([0, 1, 2, 3, 4, 5].map((i) => newCluster(b, i))))].map((c) => c.id);
    const [ra, rb] = await Promise.all([sentinel(a).poller.pollOnce(), sentinel(b).poller.pollOnce()]);
    expect([ra.published, rb.published]).toEqual([5, 6]);
    await eventually(() => (ids.every((id) => eventsFor(id).length === 1) ? true : undefined), 5000);
  });

  test("the API going away: polls fail and are counted, the Sentinel stays up and catches up when it returns", async () => {
    const shard = uniqueNamespace("s");
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: api.port });
    stops.push(() => proxy.close());
    const s = sentinel(shard, `http://127.0.0.1:${proxy.port}`);
    s.poller.start();
    await proxy.cut();
    const c = await newCluster(shard);
    await eventually(() => (s.poller.stats().errors >= 2 ? true : undefined), 5000);
    expect(eventsFor(c.id)).toHaveLength(0);
    await proxy.restore();
    await eventually(() => (eventsFor(c.id).length ? true : undefined), 8000);
    expect(s.poller.stats().lastError?.message).toMatch(/^list: /);
  });

  test("a nodepool Sentinel publishes nodepool events carrying owner_references to the cluster", async () => {
    const shard = uniqueNamespace("s");
    const c = await newCluster(shard);
    const np = await api.nodepools.createNodePool({ clusterId: c.id, name: "np-evt", labels: { run: shard }, spec: {} });
    const selector = parseLabelSelector(`run=${shard}`);
    if (!selector.ok) throw new Error(selector.error);
    const s = createServer({
      lister: createNodePoolLister(createApiClient(api.baseUrl)),
      broker,
      log: silentLogger(),
      config: { ...INTERVALS, topic, selector: selector.requirements, kind: "nodepools", labelSelector: `run=${shard}` },
    });
    expect((await s.poller.pollOnce()).published).toBe(1);
    const e = await eventually(() => eventsFor(np.id)[0], 5000);
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
    const s = sentinel(shard);
    const port = await s.server.listen(0, "127.0.0.1");
    stops.push(() => s.server.close(100));
    const client = createClient(SentinelService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
    const c = await newCluster(shard);
    await reportAll(c.id, 1, "True");
    await s.poller.pollOnce();
    const status = await client.getStatus({});
    expect(status).toMatchObject({ resourceKind: "clusters", labelSelector: `run=${shard}`, topic, pollsTotal: 1n, lastPollDue: 0n });
    expect(status.lastSuccessfulPollTime).toBeDefined();
    const r = await client.reconcile({ resourceId: c.id });
    expect(r.generation).toBe(1n);
    await eventually(() => eventsFor(c.id).find((e) => e.event.id === r.eventId), 5000);
    expect(s.healthy()).toBe(true);
    await expect(client.reconcile({ resourceId: "0190aaaa-0000-7000-8000-000000000000" })).rejects.toThrow(/not found/);
  });
});
