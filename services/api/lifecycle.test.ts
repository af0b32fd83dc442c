/** NodePools and the deletion lifecycle (spec §8) through the real API on real Postgres. */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { NodePoolService } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import { Phase } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { startApi, type TestApi } from "../../test/support/start-api.js";
import { reportRequest } from "../../test/support/reports.js";

let api: TestApi;
let nodepools: ReturnType<typeof createClient<typeof NodePoolService>>;
beforeAll(async () => {
  api = await startApi();
  nodepools = createClient(NodePoolService, createConnectTransport({ baseUrl: api.baseUrl, httpVersion: "2" }));
});
afterAll(() => api.close());

const code = (p: Promise<unknown>) => p.then(() => "OK", (e) => Code[ConnectError.from(e).code]);
let n = 0;
const cluster = () => api.clusters.createCluster({ name: `life-${++n}`, spec: {} });
let clock = Date.now();
/** Every required adapter of the resource reports at its current generation (Finalized when asked). */
async function reportAll(id: string, adapters: string[], generation: bigint, finalized?: "True" | "False") {
  for (const adapter of adapters) {
    await api.statuses.reportStatus(
      reportRequest({ resourceId: id, adapter, generation: Number(generation), at: new Date((clock += 1000)), applied: finalized ? "False" : "True", available: finalized ? "False" : "True", extra: finalized ? { Finalized: finalized } : undefined }),
    );
  }
}
const CLUSTER_ADAPTERS = ["validation", "dns", "placement"];

describe("NodePoolService", () => {
  test("create under a cluster: href, generation 1, NotReady; names are unique within a cluster only", async () => {
    const [a, b] = [await cluster(), await cluster()];
    const np = await nodepools.createNodePool({ clusterId: a.id, name: "workers", spec: { replicas: 3 } });
    expect(np).toMatchObject({ clusterId: a.id, kind: "NodePool", generation: 1n, href: `/api/hyperfleet/v1/clusters/${a.id}/nodepools/${np.id}` });
    expect(np.status?.phase).toBe(Phase.NOT_READY);
    expect(await code(nodepools.createNodePool({ clusterId: a.id, name: "workers", spec: {} }))).toBe("AlreadyExists");
    expect(await code(nodepools.createNodePool({ clusterId: b.id, name: "workers", spec: {} }))).toBe("OK");
  });

  test.each([
    ["a missing cluster → NotFound", "0190aaaa-0000-7000-8000-000000000000", "np-one", "NotFound"],
    ["a 16-character name → InvalidArgument", undefined, "a".repeat(16), "InvalidArgument"],
    ["no cluster_id → InvalidArgument", "", "np-one", "InvalidArgument"],
  ])("create: %s", async (_name, clusterId, name, want) => {
    const c = await cluster();
    expect(await code(nodepools.createNodePool({ clusterId: clusterId ?? c.id, name, spec: {} }))).toBe(want);
  });

  test("Regression guard: a cluster_id that is not a UUID reached Postgres (500); now InvalidArgument", async () => {
    expect(await code(nodepools.listNodePools({ clusterId: "abc" }))).toBe("InvalidArgument");
  });

  test("list per cluster and across clusters, with the same filter language", async () => {
    const [a, b] = [await cluster(), await cluster()];
    await nodepools.createNodePool({ clusterId: a.id, name: "np-a", labels: { tier: "gpu" }, spec: {} });
    await nodepools.createNodePool({ clusterId: b.id, name: "np-b", labels: { tier: "gpu" }, spec: {} });
    expect((await nodepools.listNodePools({ clusterId: a.id })).nodepools.map((x) => x.name)).toEqual(["np-a"]);
    const across = await nodepools.listNodePools({ filter: `labels.tier = 'gpu' and (cluster_id = '${a.id}' or cluster_id = '${b.id}')` });
    expect(across.nodepools.map((x) => x.name).sort()).toEqual(["np-a", "np-b"]);
  });

  test("updating a nodepool rolls its generation without touching its cluster's", async () => {
    const c = await cluster();
    const np = await nodepools.createNodePool({ clusterId: c.id, name: "np-upd", spec: { replicas: 1 } });
    expect((await nodepools.updateNodePool({ id: np.id, spec: { replicas: 2 } })).generation).toBe(2n);
    expect((await api.clusters.getCluster({ id: c.id })).generation).toBe(1n);
  });

  test("a nodepool's phase comes from its own required adapters (nodepool)", async () => {
    const c = await cluster();
    const np = await nodepools.createNodePool({ clusterId: c.id, name: "np-ready", spec: {} });
    await reportAll(np.id, ["nodepool"], 1n);
    expect((await nodepools.getNodePool({ id: np.id })).status?.phase).toBe(Phase.READY);
    expect((await api.statuses.listStatuses({ resourceId: np.id })).statuses[0].resourceKind).toBe("NodePool");
  });
});

describe("deletion (spec §8)", () => {
  test("deleting a cluster soft-deletes its nodepools; both stay readable, refuse updates, free their names", async () => {
    const c = await cluster();
    const np = await nodepools.createNodePool({ clusterId: c.id, name: "np-del", spec: {} });
    const deleted = await api.clusters.deleteCluster({ id: c.id });
    expect(deleted.generation).toBe(2n);
    expect(deleted.status?.phase).toBe(Phase.NOT_READY);
    const npAfter = await nodepools.getNodePool({ id: np.id });
    expect(npAfter.deletedTime).toBeDefined();
    expect(npAfter.generation).toBe(2n);
    expect(await code(nodepools.updateNodePool({ id: np.id, spec: { x: 1 } }))).toBe("FailedPrecondition");
    expect(await code(api.clusters.updateCluster({ id: c.id, spec: { x: 1 } }))).toBe("FailedPrecondition");
    expect(await code(nodepools.createNodePool({ clusterId: c.id, name: "np-new", spec: {} }))).toBe("FailedPrecondition");
    expect(await code(api.clusters.createCluster({ name: c.name, spec: {} }))).toBe("OK");
  });

  test("a report answers whether its resource is being deleted: unset while it lives, the deletion's time after, stored or discarded", async () => {
    const c = await cluster();
    const live = await api.statuses.reportStatus(reportRequest({ resourceId: c.id, adapter: "validation", generation: 1, at: new Date((clock += 1000)), applied: "True", available: "True" }));
    expect(live.stored).toBe(true);
    expect(live.resourceDeletedTime).toBeUndefined();
    const deleted = await api.clusters.deleteCluster({ id: c.id });
    // An adapter that created objects at generation 1 reports after the delete: stored, and told.
    const late = await api.statuses.reportStatus(reportRequest({ resourceId: c.id, adapter: "dns", generation: 1, at: new Date((clock += 1000)), applied: "True", available: "True" }));
    expect(late.stored).toBe(true);
    expect(late.resourceDeletedTime).toEqual(deleted.deletedTime);
    const stale = await api.statuses.reportStatus(reportRequest({ resourceId: c.id, adapter: "dns", generation: 1, at: new Date(clock - 5000), applied: "True", available: "True" }));
    expect(stale.stored).toBe(false);
    expect(stale.resourceDeletedTime).toEqual(deleted.deletedTime);
  });

  test("concurrent deletes bump the generation once", async () => {
    const c = await cluster();
    const results = await Promise.all(Array.from({ length: 8 }, () => api.clusters.deleteCluster({ id: c.id })));
    expect(new Set(results.map((r) => r.generation))).toEqual(new Set([2n]));
  });

  test("Finalized=True from every required adapter removes a nodepool; its sibling and the cluster are untouched", async () => {
    const c = await cluster();
    const [np1, np2] = [await nodepools.createNodePool({ clusterId: c.id, name: "np-one", spec: {} }), await nodepools.createNodePool({ clusterId: c.id, name: "np-two", spec: {} })];
    const d = await nodepools.deleteNodePool({ id: np1.id });
    await reportAll(np1.id, ["nodepool"], d.generation, "False");
    expect(await code(nodepools.getNodePool({ id: np1.id }))).toBe("OK");
    await reportAll(np1.id, ["nodepool"], d.generation, "True");
    expect(await code(nodepools.getNodePool({ id: np1.id }))).toBe("NotFound");
    expect((await nodepools.getNodePool({ id: np2.id })).deletedTime).toBeUndefined();
    expect((await api.clusters.getCluster({ id: c.id })).generation).toBe(1n);
  });

  test("a cluster waits for its nodepools: removed only when its adapters and its nodepools are finalized", async () => {
    const c = await cluster();
    const np = await nodepools.createNodePool({ clusterId: c.id, name: "np-wait", spec: {} });
    const d = await api.clusters.deleteCluster({ id: c.id });
    await reportAll(c.id, CLUSTER_ADAPTERS, d.generation, "True");
    const waiting = await api.clusters.getCluster({ id: c.id });
    expect(waiting.status?.phase).toBe(Phase.READY);
    await reportAll(np.id, ["nodepool"], 2n, "True");
    expect(await code(nodepools.getNodePool({ id: np.id }))).toBe("NotFound");
    expect(await code(api.clusters.getCluster({ id: c.id }))).toBe("NotFound");
    expect((await api.db("adapter_statuses").whereIn("resource_id", [c.id, np.id])).length).toBe(0);
  });

  test("a stuck deletion stays until force delete; force delete is refused for a live cluster and needs a reason", async () => {
    const c = await cluster();
    await nodepools.createNodePool({ clusterId: c.id, name: "np-stuck", spec: {} });
    expect(await code(api.clusters.forceDeleteCluster({ id: c.id, reason: "stuck" }))).toBe("FailedPrecondition");
    const d = await api.clusters.deleteCluster({ id: c.id });
    // placement never reports: the cluster stays in deletion.
    await reportAll(c.id, ["validation", "dns"], d.generation, "True");
    expect((await api.clusters.getCluster({ id: c.id })).deletedTime).toBeDefined();
    expect(await code(api.clusters.forceDeleteCluster({ id: c.id, reason: "" }))).toBe("InvalidArgument");
    const r = await api.clusters.forceDeleteCluster({ id: c.id, reason: "placement adapter decommissioned" });
    expect(r.nodepoolsRemoved).toBe(1n);
    expect(await code(api.clusters.getCluster({ id: c.id }))).toBe("NotFound");
  });
});
