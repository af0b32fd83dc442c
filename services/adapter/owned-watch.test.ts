/** Owned-object watch: which changes reconcile what (pure), and the watch itself through client-node against the stand-in. */
import { silentLogger } from "../shared/log.js";
import { loadAdapterConfig } from "./adapter-config.js";
import { createKubeObjects, type KubeObject } from "./kube.js";
import { resourceToReconcile, watchOwnedObjects } from "./owned-watch.js";
import { ensureSetup } from "./setup.js";
import { startStandin, type TestStandin } from "../../test/support/start-standin.js";

const job = (labels: Record<string, string>): KubeObject => ({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "j", namespace: "hyperfleet", labels } });
const owned = { "hyperfleet.io/cluster-id": "c1", "hyperfleet.io/nodepool-id": "np1", "hyperfleet.io/adapter": "validation" };

test.each([
  ["MODIFIED on a cluster adapter's object → its cluster", "MODIFIED", owned, "clusters", "c1"],
  ["DELETED → reconcile (the object is re-created)", "DELETED", owned, "clusters", "c1"],
  ["MODIFIED on a nodepool adapter's object → its nodepool", "MODIFIED", owned, "nodepools", "np1"],
  ["ADDED is the adapter's own create or the initial listing → nothing", "ADDED", owned, "clusters", undefined],
  ["BOOKMARK → nothing", "BOOKMARK", owned, "clusters", undefined],
  ["an object without the resource label → nothing", "MODIFIED", { "hyperfleet.io/adapter": "validation" }, "clusters", undefined],
  ["another adapter's object → nothing", "DELETED", { ...owned, "hyperfleet.io/adapter": "dns" }, "clusters", undefined],
] as const)("%s", (_, type, labels, resourceKind, expected) => {
  expect(resourceToReconcile(type, job(labels), { name: "validation", resourceKind })).toBe(expected);
});

describe("against the stand-in", () => {
  let standin: TestStandin;
  beforeAll(async () => {
    standin = await startStandin();
  });
  afterAll(() => standin.close());

  test("a Job that finishes or is deleted pokes a reconcile of its cluster; another adapter's Job does not", async () => {
    const plan = loadAdapterConfig("services/adapter/configs/validation.yaml");
    const kube = createKubeObjects({ kind: "url", url: standin.url }, 5000);
    await ensureSetup(plan, kube);
    const pokes: string[] = [];
    const watcher = watchOwnedObjects({ plan, kube, poke: (id, why) => pokes.push(`${id} ${why}`), log: silentLogger(), retryMs: 50 });
    try {
      // The watch is up once an edit to a watched object arrives; until then keep nudging.
      const manifest = (name: string, adapter: string, cluster: string): KubeObject => ({
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name, namespace: "hyperfleet", labels: { "hyperfleet.io/adapter": adapter, "hyperfleet.io/cluster-id": cluster } },
        spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } },
      });
      await kube.create(manifest("mine", "validation", "c-mine"));
      await kube.create(manifest("theirs", "dns", "c-theirs"));
      expect(pokes).toEqual([]);
      for (let i = 0; i < 100 && !pokes.some((p) => p.startsWith("c-mine")); i++) {
        await kube.patch({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "mine", namespace: "hyperfleet", annotations: { nudge: String(i) } } });
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(pokes[0]).toBe("c-mine Job mine modified");
      pokes.length = 0;
      standin.advance(20_000); // the stand-in's Job stage: both Jobs complete
      await kube.delete({ apiVersion: "batch/v1", kind: "Job", namespace: "hyperfleet", name: "theirs" });
      await kube.delete({ apiVersion: "batch/v1", kind: "Job", namespace: "hyperfleet", name: "mine" });
      for (let i = 0; i < 100 && !pokes.some((p) => p.includes("deleted")); i++) await new Promise((r) => setTimeout(r, 20));
      expect(pokes).toContain("c-mine Job mine modified");
      expect(pokes).toContain("c-mine Job mine deleted");
      expect(pokes.filter((p) => p.startsWith("c-theirs"))).toEqual([]);
    } finally {
      watcher.stop();
    }
  });
});
