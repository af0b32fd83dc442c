/**
 * The orphan sweep (issue 17) against the real API on Postgres and the stand-in via client-node, with
 * the shipped adapter configs: objects whose resource no longer exists go, like Kubernetes' garbage
 * collector for owner references; nothing else does.
 */
import { encodeReconcileEvent, newReconcileEvent } from "../shared/events/index.js";
import { createApiClient, type ApiClient } from "../shared/api-client.js";
import { silentLogger } from "../shared/log.js";
import { Phase } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import type { AdapterPlan } from "./adapter-config.js";
import type { KubeObjects } from "./kube.js";
import { reconcile } from "./reconcile.js";
import { BULK_OWNERS, createOrphanSweeper } from "./orphan-sweep.js";
import { createServer, type Adapter } from "./server.js";
import type { TestStandin } from "../../test/support/start-standin.js";
import { startAdapterHarness, type AdapterHarness } from "../../test/support/adapter-harness.js";
import { eventually } from "../../test/support/brokers.js";
import { countingApi } from "../../test/support/counting-api.js";
import { freePort } from "../../test/support/ports.js";
import { createNoAuth } from "../shared/auth/index.js";

let harness: AdapterHarness;
let standin: TestStandin;
let client: ApiClient;
let kube: KubeObjects;
let plans: Record<string, AdapterPlan>;
let adapters: Record<string, Adapter>;
let clock = Date.now();
const CLUSTER_ADAPTERS = ["validation", "dns", "placement"];
const ALL = [...CLUSTER_ADAPTERS, "nodepool"];

beforeAll(async () => {
  harness = await startAdapterHarness(ALL, { jobDurationMs: 1000, dnsDelayMs: 1000, speed: 1 });
  ({ standin, client, kube, plans } = harness);
  // As main.ts builds each adapter (no broker, no port: the sweeper and the event handler are what is tested).
  adapters = Object.fromEntries(ALL.map((a) => [a, createServer({ plan: plans[a], api: client, kube, subscription: `sub-${a}`, log: silentLogger(), auth: createNoAuth() })]));
});
afterAll(async () => {
  for (const a of Object.values(adapters ?? {})) await a.sweeper.stop();
  await harness.close();
});

const run = (adapter: string, id: string) => reconcile({ plan: plans[adapter], api: client, kube, now: () => new Date((clock += 1000)) }, id);
/** Everything the adapters made for a cluster, across kinds. */
function objectsOf(clusterId: string): string[] {
  return [["batch", "jobs"], ["hyperfleet.io", "dnsrecords"], ["hyperfleet.io", "nodepools"]].flatMap(([g, r]) => {
    const t = standin.store.resolve(g, g === "batch" ? "v1" : "v1alpha1", r);
    return t ? standin.store.list(t, undefined, [{ key: "hyperfleet.io/cluster-id", op: "=", value: clusterId }]).items.map((o) => `${o.kind}/${o.metadata.name}`) : [];
  });
}
let n = 0;
/** A Ready cluster with a nodepool: a validation Job, a DNSRecord, a placement Job and a NodePool object. */
async function readyClusterWithNodePool() {
  const c = await client.clusters.createCluster({ name: `sweep-${++n}`, spec: { simulate: { placementDuration: "1s" } } });
  for (let i = 0; i < 6; i++) {
    for (const a of CLUSTER_ADAPTERS) await run(a, c.id);
    standin.advance(1000);
  }
  expect((await client.clusters.getCluster({ id: c.id })).status?.phase).toBe(Phase.READY);
  const np = await client.nodepools.createNodePool({ clusterId: c.id, name: "workers", spec: {} });
  expect((await run("nodepool", np.id)).outcome).toBe("Reported");
  expect(objectsOf(c.id).sort()).toEqual([`DNSRecord/${c.id}-dns`, `Job/placement-${c.id}`, `Job/validation-${c.id}-gen1`, `NodePool/${np.id}`]);
  return { c, np };
}
/** Delete immediately followed by ForceDelete: no adapter ever sees the cluster in deletion. */
async function deleteAndForce(id: string) {
  await client.clusters.deleteCluster({ id });
  await client.clusters.forceDeleteCluster({ id, reason: "issue 17: delete + force delete" });
}
const metric = async (a: string, name: string) => Number(new RegExp(`^${name}\\{adapter="${a}"[^}]*\\} (\\d+)`, "m").exec(await adapters[a].metrics.registry.metrics())?.[1] ?? 0);

test("Delete + ForceDelete of a Ready cluster with a nodepool: every adapter object is gone after one sweep; a live and a deleting cluster keep theirs", async () => {
  const gone = await readyClusterWithNodePool();
  const live = await readyClusterWithNodePool();
  const deleting = await readyClusterWithNodePool();
  await client.clusters.deleteCluster({ id: deleting.c.id });
  await deleteAndForce(gone.c.id);

  // Regression guard: the adapters' reconcile sees NotFound and reports nothing, so the objects stayed forever.
  for (const a of CLUSTER_ADAPTERS) expect((await run(a, gone.c.id)).outcome).toBe("ResourceGone");
  expect(objectsOf(gone.c.id).length).toBe(4);

  const results = Object.fromEntries(await Promise.all(ALL.map(async (a) => [a, await adapters[a].sweeper.sweep()] as const)));
  expect(objectsOf(gone.c.id)).toEqual([]);
  expect(results.validation.deleted.map((r) => r.name)).toEqual([`validation-${gone.c.id}-gen1`]);
  expect(results.nodepool.deleted.map((r) => r.name)).toEqual([gone.np.id]);
  for (const a of ALL) expect(results[a]).toMatchObject({ errors: 0, unknown: 0 });
  // The live cluster is untouched; the one in deletion is left to its adapters' cleanup (spec §8).
  expect(objectsOf(live.c.id).length).toBe(4);
  expect(objectsOf(deleting.c.id).length).toBe(4);
  expect(await metric("validation", "hyperfleet_adapter_orphans_swept_total")).toBeGreaterThanOrEqual(1);
  expect(await adapters.validation.metrics.registry.metrics()).toMatch(/^hyperfleet_adapter_orphan_sweep_duration_seconds_count\{adapter="validation",trigger="interval"\} [1-9]/m);

  // A second sweep finds nothing more to do.
  expect((await adapters.validation.sweeper.sweep()).deleted).toEqual([]);
});

test("an event for a force-deleted cluster sweeps that cluster's objects at once, without waiting for the timer", async () => {
  const { c, np } = await readyClusterWithNodePool();
  const other = await readyClusterWithNodePool();
  await deleteAndForce(c.id);
  const message = (id: string, data: Parameters<typeof newReconcileEvent>[0]) => ({ id, data: encodeReconcileEvent(newReconcileEvent(data, `e-${id}`, new Date())), attributes: {}, deliveryAttempt: 1 });
  for (const a of CLUSTER_ADAPTERS) expect(await adapters[a].handler.handle(message(`${a}-${c.id}`, { id: c.id, kind: "Cluster", href: c.href, generation: 1 }))).toBe("ack");
  expect(objectsOf(c.id)).toEqual([`NodePool/${np.id}`]);
  // The nodepool adapter's object belongs to the nodepool (removed with its cluster): its event sweeps it.
  await adapters.nodepool.handler.handle(message(`np-${np.id}`, { id: np.id, kind: "NodePool", href: np.href, generation: 1, owner_references: { id: c.id, kind: "Cluster", href: c.href } }));
  expect(objectsOf(c.id)).toEqual([]);
  expect(objectsOf(other.c.id).length).toBe(4);
  expect(adapters.validation.handler.stats().byOutcome.ResourceGone).toBeGreaterThanOrEqual(1);
  expect(await adapters.validation.metrics.registry.metrics()).toMatch(/^hyperfleet_adapter_orphan_sweep_duration_seconds_count\{adapter="validation",trigger="resource-gone"\} [1-9]/m);
});

test("an event whose id is not a label value sweeps nothing (no selector is built from it)", async () => {
  const { c } = await readyClusterWithNodePool();
  const id = `x,hyperfleet.io/cluster-id!=${c.id}`;
  const data = encodeReconcileEvent(newReconcileEvent({ id, kind: "Cluster", href: `/api/hyperfleet/v1/clusters/x`, generation: 1 }, "e-hostile", new Date()));
  expect(await adapters.validation.handler.handle({ id: "m-hostile", data, attributes: {}, deliveryAttempt: 1 })).toBe("ack");
  expect(objectsOf(c.id).length).toBe(4);
  expect(await adapters.validation.sweeper.sweepOwner(id)).toMatchObject({ objects: 0, deleted: [] });
});

test("a resource the API cannot answer for is never treated as gone", async () => {
  const { c } = await readyClusterWithNodePool();
  const port = await freePort();
  const unreachable = createServer({ plan: plans.validation, api: createApiClient(`http://127.0.0.1:${port}`, { timeoutMs: 500 }), kube, subscription: "sub-x", log: silentLogger(), auth: createNoAuth() });
  const r = await unreachable.sweeper.sweep();
  expect(r.owners).toBeGreaterThanOrEqual(1);
  expect(r.unknown).toBe(r.owners);
  expect(r.deleted).toEqual([]);
  expect(objectsOf(c.id).length).toBe(4);
  expect(await unreachable.metrics.registry.metrics()).toMatch(/^hyperfleet_adapter_orphan_sweep_errors_total\{adapter="validation",stage="api"\} [1-9]/m);
}, 30_000);

test("the timer sweeps by itself and stops cleanly", async () => {
  const { c } = await readyClusterWithNodePool();
  await deleteAndForce(c.id);
  const a = createServer({ plan: plans.dns, api: client, kube, subscription: "sub-timer", log: silentLogger(), auth: createNoAuth() });
  a.sweeper.start(1000);
  try {
    await eventually(() => (objectsOf(c.id).some((o) => o.startsWith("DNSRecord/")) ? undefined : true), 10_000, 50);
  } finally {
    await a.sweeper.stop();
  }
});

test(`a sweep over more than ${BULK_OWNERS} resources lists them in pages and asks only about the ones missing from the list`, async () => {
  const ids: string[] = [];
  for (let i = 0; i < BULK_OWNERS + 10; i++) {
    const c = await client.clusters.createCluster({ name: `bulk-sweep-${++n}`, spec: {} });
    await run("validation", c.id);
    ids.push(c.id);
  }
  await deleteAndForce(ids[0]);
  const { api, calls } = countingApi(client);
  // Pages of 10, so that the listing takes several.
  const r = await createOrphanSweeper({ plan: plans.validation, api, kube, log: silentLogger(), listPageSize: 10 }).sweep();
  // (Earlier tests may have left orphans of their own: they go too.)
  expect(r.deleted.map((o) => o.name)).toContain(`validation-${ids[0]}-gen1`);
  expect(r).toMatchObject({ errors: 0, unknown: 0 });
  for (const id of ids.slice(1)) expect(objectsOf(id)).toEqual([`Job/validation-${id}-gen1`]);
  // Regression guard: one GetCluster per resource that owns an object (60 and more here); now only
  // the owners missing from the listing are asked about, and each of those was gone.
  expect(r.owners).toBeGreaterThan(BULK_OWNERS);
  expect(calls.getCluster).toBe(r.gone);
  expect(r.gone).toBeLessThan(5);
  expect(calls.listClusters).toBeGreaterThanOrEqual(Math.ceil(ids.length / 10));
});

test("a listing that fails, or whose page token never moves on, is given up: every owner is asked about instead", async () => {
  const c = await client.clusters.createCluster({ name: `bulk-sweep-${++n}`, spec: {} });
  await run("validation", c.id);
  await deleteAndForce(c.id);
  const stuck = { clusters: [], nextPageToken: "same", totalSize: 0 };
  for (const listClusters of [async () => Promise.reject(new Error("list refused")), async () => stuck]) {
    const { api, calls } = countingApi(client, { listClusters });
    const r = await createOrphanSweeper({ plan: plans.validation, api, kube, log: silentLogger() }).sweep();
    expect(r.owners).toBeGreaterThan(BULK_OWNERS);
    expect(calls.getCluster).toBe(r.owners);
    expect(r).toMatchObject({ errors: 0, unknown: 0 });
    // The first sweep found and deleted the orphan by asking about each owner.
    expect(objectsOf(c.id)).toEqual([]);
  }
});

test("stop() cuts a sweep in progress short: its unanswered questions are dropped and nothing is deleted", async () => {
  const { c } = await readyClusterWithNodePool();
  await deleteAndForce(c.id);
  let asked!: () => void;
  const askedOnce = new Promise<void>((r) => (asked = r));
  // An API that never answers GetCluster (until the call is aborted).
  const { api } = countingApi(client, {
    getCluster: (_req, opts) => {
      asked();
      return new Promise((_, reject) => opts?.signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
    },
  });
  const sweeper = createServer({ plan: plans.placement, api, kube, subscription: "sub-stop", log: silentLogger(), auth: createNoAuth() }).sweeper;
  const sweeping = sweeper.sweep();
  await askedOnce;
  await sweeper.stop();
  const r = await sweeping;
  expect(r.deleted).toEqual([]);
  expect(r.unknown).toBeGreaterThanOrEqual(1);
  expect(objectsOf(c.id)).toContain(`Job/placement-${c.id}`);
});
