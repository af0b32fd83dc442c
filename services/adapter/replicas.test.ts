/**
 * Two replicas of one adapter working on one resource at once (docs/decisions/spec.md, "Replicas of
 * one adapter may work on one resource at once"): the real API on Postgres, the stand-in via
 * client-node, the shipped configs. Which replica does what is forced with gates on their Kubernetes
 * calls, so the interleaving is the test's, not the scheduler's.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { createApiClient, type ApiClient } from "../shared/api-client.js";
import { createBroker, topicName, topicTopology, type Broker } from "../shared/broker/index.js";
import { encodeReconcileEvent, newReconcileEvent } from "../shared/events/index.js";
import { silentLogger } from "../shared/log.js";
import { loadAdapterConfig, type AdapterPlan } from "./adapter-config.js";
import { adapterSubscription } from "./config.js";
import { createKubeObjects, type KubeObject, type KubeObjects, type ObjectRef } from "./kube.js";
import { reconcile } from "./reconcile.js";
import { createServer } from "./server.js";
import { ensureSetup } from "./setup.js";
import { startApi, type TestApi } from "../../test/support/start-api.js";
import { startStandin, type TestStandin } from "../../test/support/start-standin.js";
import { TEST_BROKERS, eventually, uniqueNamespace } from "../../test/support/brokers.js";
import { createNoAuth } from "../shared/auth/index.js";

let api: TestApi;
let standin: TestStandin;
let client: ApiClient;
let kube: KubeObjects;
let plans: Record<string, AdapterPlan>;
let clock = Date.now();

beforeAll(async () => {
  // Only validation is required, so its Finalized report removes a deleted cluster (Get → NotFound).
  [api, standin] = await Promise.all([startApi({ clusterAdapters: ["validation"], optionalAdapters: ["dns"] }), startStandin({ jobDurationMs: 1000, dnsDelayMs: 1000, speed: 1 })]);
  client = createApiClient(api.baseUrl);
  kube = createKubeObjects({ kind: "url", url: standin.url }, 5000);
  plans = { validation: loadAdapterConfig("services/adapter/configs/validation.yaml"), dns: loadAdapterConfig("services/adapter/configs/dns.yaml") };
  for (const p of Object.values(plans)) await ensureSetup(p, kube);
});
afterAll(async () => {
  await standin?.close();
  await api?.close();
});

/** Holds calls of one verb until released, and says who is waiting. */
function gate() {
  let release!: () => void;
  const open = new Promise<void>((r) => (release = r));
  const waiting: string[] = [];
  return { open, release, waiting };
}
/** `kube` as one replica sees it, with one verb held at `g` (for Jobs only, when `jobsOnly`). */
function gated(replica: string, verb: "create" | "get" | "patch", g: ReturnType<typeof gate>, jobsOnly = false): KubeObjects {
  const hold = async (kind: string | undefined) => {
    if (jobsOnly && kind !== "Job") return;
    g.waiting.push(replica);
    await g.open;
  };
  return {
    ...kube,
    create: async (o: KubeObject) => (verb === "create" && (await hold(o.kind)), kube.create(o)),
    get: async (r: ObjectRef) => (verb === "get" && (await hold(r.kind)), kube.get(r)),
    patch: async (o: KubeObject) => (verb === "patch" && (await hold(o.kind)), kube.patch(o)),
  };
}
const jobs = (clusterId: string) => standin.store.list(standin.store.resolve("batch", "v1", "jobs")!, "hyperfleet", [{ key: "hyperfleet.io/cluster-id", op: "=", value: clusterId }]).items.map((o) => o.metadata.name);
const gone = (id: string) => client.clusters.getCluster({ id }).then(() => false, (e) => (ConnectError.from(e).code === Code.NotFound ? true : Promise.reject(e)));
let n = 0;

describe.each(TEST_BROKERS)("two replicas of validation on one %s subscription", (_name, config) => {
  test("a converge whose Job create lands after the other replica's cleanup removed the cluster leaves no Job behind", async () => {
    const ns = uniqueNamespace();
    const sub = adapterSubscription(ns, "clusters", "validation");
    const topic = topicName(ns, "clusters");
    const owned = topicTopology(topic, ["validation"]);
    // Each replica has its own broker connection, as two processes would.
    const brokers: Broker[] = [createBroker(config), createBroker(config)];
    await brokers[0].provision(owned);
    const creates = gate();
    const replicas = ["A", "B"].map((name) => createServer({ plan: plans.validation, api: client, kube: gated(name, "create", creates, true), subscription: sub, log: silentLogger(), auth: createNoAuth() }));
    try {
      // One message at a time each: a replica held in its create takes no more, so the broker gives the rest to the other.
      await Promise.all(replicas.map((r, i) => brokers[i].subscribe(sub, r.handler.handle, { maxInFlight: 1 })));
      const c = await client.clusters.createCluster({ name: `replicas-${++n}`, spec: {} });
      const publish = () => brokers[0].publish(topic, { data: encodeReconcileEvent(newReconcileEvent({ id: c.id, kind: "Cluster", href: c.href, generation: 1 }, `e-${Math.random()}`, new Date())) });

      // Replica X reads the live cluster and is about to create its Job.
      await publish();
      const x = await eventually(() => creates.waiting[0], 30_000);
      const y = x === "A" ? "B" : "A";
      // The cluster is deleted; the other replica's cleanup finds no Job and reports Finalized, and the
      // API removes the cluster. Events go on being published (as the Sentinel would) until one reaches it.
      await client.clusters.deleteCluster({ id: c.id });
      await eventually(async () => ((await gone(c.id)) ? true : (await publish(), undefined)), 30_000, 250);
      expect(creates.waiting).toEqual([x]);
      const stats = (r: string) => replicas[r === "A" ? 0 : 1].handler.stats().byOutcome;
      expect(stats(y).Finalized).toBeGreaterThanOrEqual(1);

      // Now X's create lands: a Job for a cluster that no longer exists.
      creates.release();
      await eventually(() => (stats(x).ResourceGone ? true : undefined), 30_000);
      // X read the cluster again after creating, found it removed, and swept what it had made.
      expect(jobs(c.id)).toEqual([]);
      expect(await gone(c.id)).toBe(true);
      const swept = await Promise.all(replicas.map(async (r) => Number(/^hyperfleet_adapter_orphans_swept_total\{adapter="validation"\} (\d+)/m.exec(await r.metrics.registry.metrics())?.[1])));
      expect(swept.reduce((a, b) => a + b)).toBe(1);
    } finally {
      creates.release();
      for (const r of replicas) await r.handler.close();
      for (const b of brokers) await b.close();
    }
  }, 90_000);
});

describe("two replicas of dns converging two generations at once", () => {
  const now = () => new Date((clock += 1000));
  /** A cluster at generation 2 whose dns record is at generation 1 and validation Available at 2. */
  async function atGeneration2() {
    const c = await client.clusters.createCluster({ name: `dns-replicas-${++n}`, spec: { baseDomain: "one.example" } });
    const run = (adapter: string) => reconcile({ plan: plans[adapter], api: client, kube, now }, c.id);
    await run("validation");
    standin.advance(1000);
    await run("validation");
    await run("dns");
    await client.clusters.updateCluster({ id: c.id, spec: { baseDomain: "two.example" } });
    await run("validation");
    standin.advance(1000);
    await run("validation");
    return { c, run };
  }
  /** Generation 3 exists and validation is Available at it: what the newer replica reads. */
  async function toGeneration3(id: string, run: (a: string) => Promise<unknown>) {
    await client.clusters.updateCluster({ id, spec: { baseDomain: "three.example" } });
    await run("validation");
    standin.advance(1000);
    await run("validation");
  }
  const record = async (id: string) => {
    const o = await kube.get({ apiVersion: "hyperfleet.io/v1alpha1", kind: "DNSRecord", namespace: "hyperfleet", name: `${id}-dns` });
    return [o?.metadata?.annotations?.["hyperfleet.io/generation"], (o?.spec as { domain?: string })?.domain];
  };

  test("a patch by a replica that read generation 2 after the other wrote generation 3 fails its condition and is re-read, never moving the record back", async () => {
    const { c, run } = await atGeneration2();
    const patches = gate();
    // Replica A reads generation 2 and the record (at 1), and is held just before its patch.
    const a = reconcile({ plan: plans.dns, api: client, kube: gated("A", "patch", patches), now }, c.id);
    await eventually(() => patches.waiting[0]);
    // Replica B reads generation 3 and patches the record to it.
    await toGeneration3(c.id, run);
    expect((await reconcile({ plan: plans.dns, api: client, kube, now }, c.id)).outcome).toBe("Reported");
    expect(await record(c.id)).toEqual(["3", `${c.name}.three.example`]);
    patches.release();
    const r = await a;
    expect(r.trace.join("\n")).toMatch(/changed since it was read: reconciling again/);
    expect(await record(c.id)).toEqual(["3", `${c.name}.three.example`]);
  });

  test("a replica that read generation 2 and then finds the record at generation 3 reads the cluster again instead of patching", async () => {
    const { c, run } = await atGeneration2();
    const gets = gate();
    // Replica A reads generation 2 and is held before it reads the record.
    const a = reconcile({ plan: plans.dns, api: client, kube: gated("A", "get", gets), now }, c.id);
    await eventually(() => gets.waiting[0]);
    await toGeneration3(c.id, run);
    await reconcile({ plan: plans.dns, api: client, kube, now }, c.id);
    gets.release();
    const r = await a;
    expect(r.trace.join("\n")).toMatch(/newer than 2: reconciling again/);
    expect(r.objects.map((o) => o.action)).toEqual(["reread", "skip"]);
    expect(await record(c.id)).toEqual(["3", `${c.name}.three.example`]);
  });
});
