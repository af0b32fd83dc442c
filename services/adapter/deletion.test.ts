/**
 * NodePools and deletion through the adapters (spec §8): the real API on Postgres, the stand-in via
 * client-node, the shipped adapter configs. Each `run` is one event handled by one adapter.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { Phase } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import type { ApiClient } from "../shared/api-client.js";
import type { AdapterPlan } from "./adapter-config.js";
import type { KubeObjects } from "./kube.js";
import { reconcile } from "./reconcile.js";
import type { TestStandin } from "../../test/support/start-standin.js";
import { startAdapterHarness, type AdapterHarness } from "../../test/support/adapter-harness.js";

let harness: AdapterHarness;
let standin: TestStandin;
let client: ApiClient;
let kube: KubeObjects;
let plans: Record<string, AdapterPlan>;
let clock = Date.now();
const CLUSTER_ADAPTERS = ["validation", "dns", "placement"];

beforeAll(async () => {
  harness = await startAdapterHarness([...CLUSTER_ADAPTERS, "nodepool"], { jobDurationMs: 1000, dnsDelayMs: 1000, speed: 1 });
  ({ standin, client, kube, plans } = harness);
});
afterAll(() => harness.close());

const run = (adapter: string, id: string) => reconcile({ plan: plans[adapter], api: client, kube, now: () => new Date((clock += 1000)) }, id);
const exists = (p: Promise<unknown>) => p.then(() => true, (e) => (ConnectError.from(e).code === Code.NotFound ? false : Promise.reject(e)));
/** Everything the adapters made for a cluster, across kinds. */
function objectsOf(clusterId: string): string[] {
  return [["batch", "jobs"], ["hyperfleet.io", "dnsrecords"], ["hyperfleet.io", "nodepools"]].flatMap(([g, r]) => {
    const t = standin.store.resolve(g, g === "batch" ? "v1" : "v1alpha1", r);
    return t ? standin.store.list(t, undefined, [{ key: "hyperfleet.io/cluster-id", op: "=", value: clusterId }]).items.map((o) => `${o.kind}/${o.metadata.name}`) : [];
  });
}
/** Runs the cluster adapters, advancing the stand-in, until the cluster is Ready. */
async function readyCluster(name: string) {
  const c = await client.clusters.createCluster({ name, spec: { simulate: { placementDuration: "1s" } } });
  for (let i = 0; i < 6; i++) {
    for (const a of CLUSTER_ADAPTERS) await run(a, c.id);
    standin.advance(1000);
  }
  const got = await client.clusters.getCluster({ id: c.id });
  expect(got.status?.phase).toBe(Phase.READY);
  return got;
}

test("a nodepool waits for its cluster to be Ready, then gets a NodePool object labelled with both ids", async () => {
  const c = await client.clusters.createCluster({ name: "np-wait", spec: {} });
  const np = await client.nodepools.createNodePool({ clusterId: c.id, name: "workers", spec: { replicas: 3 } });
  expect((await run("nodepool", np.id)).outcome).toBe("PreconditionsNotMet");
  const ready = await readyCluster("np-host");
  const np2 = await client.nodepools.createNodePool({ clusterId: ready.id, name: "workers", spec: { replicas: 3 } });
  const r = await run("nodepool", np2.id);
  expect(r.outcome).toBe("Reported");
  const obj = standin.store.get(standin.store.resolve("hyperfleet.io", "v1alpha1", "nodepools")!, "hyperfleet", np2.id);
  expect(obj.metadata.labels).toMatchObject({ "hyperfleet.io/cluster-id": ready.id, "hyperfleet.io/nodepool-id": np2.id, "hyperfleet.io/adapter": "nodepool" });
  expect(obj.spec).toMatchObject({ clusterId: ready.id, replicas: 3 });
  expect((await client.nodepools.getNodePool({ id: np2.id })).status?.phase).toBe(Phase.READY);

  // Its generation 2 rolls through without touching the cluster's generation.
  await client.nodepools.updateNodePool({ id: np2.id, spec: { replicas: 5 } });
  expect((await run("nodepool", np2.id)).objects[0].action).toBe("replace");
  const after = await client.nodepools.getNodePool({ id: np2.id });
  expect([after.generation, after.status?.phase, after.status?.observedGeneration]).toEqual([2n, Phase.READY, 2n]);
  expect((await client.clusters.getCluster({ id: ready.id })).generation).toBe(1n);
});

test("lifecycle: cluster + 2 nodepools Ready → delete the cluster → adapters clean up → everything NotFound, no object left", async () => {
  const c = await readyCluster("life-cycle");
  const nps = [await client.nodepools.createNodePool({ clusterId: c.id, name: "np-a", spec: {} }), await client.nodepools.createNodePool({ clusterId: c.id, name: "np-b", spec: {} })];
  for (const np of nps) await run("nodepool", np.id);
  expect(objectsOf(c.id).length).toBe(5);

  await client.clusters.deleteCluster({ id: c.id });
  // The cluster's adapters finish first: Finalized=True, but the cluster waits for its nodepools.
  for (const a of CLUSTER_ADAPTERS) expect((await run(a, c.id)).outcome).toBe("Finalized");
  expect(await exists(client.clusters.getCluster({ id: c.id }))).toBe(true);
  expect(objectsOf(c.id).filter((o) => !o.startsWith("NodePool/"))).toEqual([]);
  // The nodepool adapter cleans up each nodepool; the last one takes the cluster with it.
  for (const np of nps) expect((await run("nodepool", np.id)).outcome).toBe("Finalized");
  for (const np of nps) expect(await exists(client.nodepools.getNodePool({ id: np.id }))).toBe(false);
  expect(await exists(client.clusters.getCluster({ id: c.id }))).toBe(false);
  expect(objectsOf(c.id)).toEqual([]);
  // The next event for a removed resource reports nothing.
  expect((await run("validation", c.id)).outcome).toBe("ResourceGone");
});

test("deleting one nodepool removes it and its object; its sibling and the cluster are untouched", async () => {
  const c = await readyCluster("np-sibling");
  const [a, b] = [await client.nodepools.createNodePool({ clusterId: c.id, name: "np-a", spec: {} }), await client.nodepools.createNodePool({ clusterId: c.id, name: "np-b", spec: {} })];
  for (const np of [a, b]) await run("nodepool", np.id);
  await client.nodepools.deleteNodePool({ id: a.id });
  expect((await run("nodepool", a.id)).outcome).toBe("Finalized");
  expect(await exists(client.nodepools.getNodePool({ id: a.id }))).toBe(false);
  expect(objectsOf(c.id).filter((o) => o.startsWith("NodePool/"))).toEqual([`NodePool/${b.id}`]);
  const cluster = await client.clusters.getCluster({ id: c.id });
  expect([cluster.generation, cluster.status?.phase, cluster.deletedTime]).toEqual([1n, Phase.READY, undefined]);
});

test("a stopped adapter keeps the cluster in deletion until it returns", async () => {
  const c = await readyCluster("stuck-one");
  await client.clusters.deleteCluster({ id: c.id });
  for (const a of ["validation", "dns"]) await run(a, c.id);
  expect(await exists(client.clusters.getCluster({ id: c.id }))).toBe(true);
  expect(objectsOf(c.id)).toEqual([`Job/placement-${c.id}`]);
  // placement comes back and finishes the job.
  expect((await run("placement", c.id)).outcome).toBe("Finalized");
  expect(await exists(client.clusters.getCluster({ id: c.id }))).toBe(false);
});

test("a same name is reusable once the cluster is deleted", async () => {
  const c = await client.clusters.createCluster({ name: "reuse-me", spec: {} });
  await client.clusters.deleteCluster({ id: c.id });
  const again = await client.clusters.createCluster({ name: "reuse-me", spec: {} });
  expect(again.id).not.toBe(c.id);
});
