/** Owned-object informers: which changes reconcile what (pure), and the informers through client-node against the stand-in. */
import { silentLogger } from "../shared/log.js";
import { loadAdapterConfig } from "./adapter-config.js";
import { createKubeObjects, type KubeObject } from "./kube.js";
import { createObjectCache } from "./object-cache.js";
import { resourceToReconcile, watchOwnedObjects } from "./owned-watch.js";
import { ensureSetup } from "./setup.js";
import { startProxy, until } from "./test-proxy.js";
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
  const plan = loadAdapterConfig("services/adapter/configs/validation.yaml");
  let standin: TestStandin;
  beforeAll(async () => {
    standin = await startStandin();
    await ensureSetup(plan, createKubeObjects({ kind: "url", url: standin.url }, 5000));
  });
  afterAll(() => standin.close());

  const manifest = (name: string, adapter = "validation", cluster = `c-${name}`): KubeObject => ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: "hyperfleet", labels: { "hyperfleet.io/adapter": adapter, "hyperfleet.io/cluster-id": cluster } },
    spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } },
  });
  const ref = (name: string) => ({ apiVersion: "batch/v1", kind: "Job", namespace: "hyperfleet", name });
  const edit = (name: string, note: string) => ({ apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace: "hyperfleet", annotations: { note } } });

  test("a Job that changes or is deleted pokes a reconcile of its cluster; another adapter's Job does not", async () => {
    const kube = createKubeObjects({ kind: "url", url: standin.url }, 5000);
    await kube.create(manifest("mine"));
    await kube.create(manifest("theirs", "dns"));
    const cache = createObjectCache();
    const pokes: string[] = [];
    const watcher = watchOwnedObjects({ plan, kube, poke: (id, why) => pokes.push(`${id} ${why}`), log: silentLogger(), retryMs: 50, cache });
    try {
      await until(() => cache.lookup(ref("mine")) !== undefined, "the informer to list and watch");
      expect(cache.lookup(ref("theirs"))).toBeUndefined(); // not ours: not even listed
      expect(pokes).toEqual([]); // a listing reconciles nothing
      await kube.patch(edit("theirs", "1"));
      await kube.patch(edit("mine", "1"));
      await until(() => pokes.length > 0, "a poke for the edit");
      expect(pokes).toEqual(["c-mine Job mine modified"]);
      await kube.delete(ref("theirs"));
      await kube.delete(ref("mine"));
      await until(() => pokes.length > 1, "a poke for the deletion");
      expect(pokes).toEqual(["c-mine Job mine modified", "c-mine Job mine deleted"]);
    } finally {
      watcher.stop();
    }
  });

  test("the cache follows its objects (updated before the poke that reads it); a failed informer answers nothing until it is up again", async () => {
    const proxy = await startProxy(standin.port);
    const live = createKubeObjects({ kind: "url", url: standin.url }, 5000);
    const kube = createKubeObjects({ kind: "url", url: proxy.url }, 5000);
    await live.create(manifest("before"));
    const cache = createObjectCache();
    const seen: string[] = [];
    const succeeded = (name: string) => (cache.lookup(ref(name))?.status as { succeeded?: number } | undefined)?.succeeded === 1;
    // Each poke records what the reconcile it queues would read.
    const poke = (id: string) => seen.push(`${id} ${succeeded(id.slice(2)) ? "succeeded" : "running"}`);
    const watcher = watchOwnedObjects({ plan, kube, poke, log: silentLogger(), retryMs: 50, cache });
    try {
      await until(() => cache.lookup(ref("before")) !== undefined, "the listing");
      expect(cache.lookup(ref("nothing"))).toBeUndefined();
      await live.create(manifest("after"));
      await until(() => cache.lookup(ref("after")) !== undefined, "the watch to add a new Job");
      standin.advance(20_000); // both Jobs complete
      await until(() => succeeded("before") && succeeded("after"), "both Jobs to complete in the cache");
      expect(seen).toContain("c-after succeeded");
      await live.delete(ref("before"));
      await until(() => cache.lookup(ref("before")) === undefined, "the deletion");

      proxy.cut(); // the watch fails; starting it again fails while the network is down
      await until(() => cache.lookup(ref("after")) === undefined, "the cache to stop answering");
      await live.patch(edit("after", "while-cut"));
      proxy.heal();
      await until(() => cache.lookup(ref("after"))?.metadata?.annotations?.note === "while-cut", "the informer to resume and catch up");
      expect(seen).toContain("c-after succeeded"); // and the change made meanwhile was reconciled
      expect(seen.filter((s) => s.startsWith("c-after")).length).toBeGreaterThanOrEqual(2);
    } finally {
      watcher.stop();
      await proxy.close();
    }
  });

  test("history gone while it was down (410 Gone): it lists again and reconciles what changed meanwhile; stop() leaves nothing answering", async () => {
    const proxy = await startProxy(standin.port);
    const live = createKubeObjects({ kind: "url", url: standin.url }, 5000);
    const kube = createKubeObjects({ kind: "url", url: proxy.url }, 5000);
    for (const name of ["h-edited", "h-gone", "h-same"]) await live.create(manifest(name));
    const cache = createObjectCache();
    const pokes: string[] = [];
    const watcher = watchOwnedObjects({ plan, kube, poke: (id, why) => pokes.push(`${id}: ${why}`), log: silentLogger(), retryMs: 50, cache });
    try {
      await until(() => cache.lookup(ref("h-same")) !== undefined, "the listing");
      proxy.cut();
      await until(() => cache.lookup(ref("h-same")) === undefined, "the cache to stop answering");
      await live.patch(edit("h-edited", "while-cut"));
      await live.delete(ref("h-gone"));
      await live.create(manifest("h-new"));
      // More writes than the stand-in keeps: a watch resuming from before them gets 410 Expired.
      const jobs = standin.store.resolve("batch", "v1", "jobs")!;
      for (let i = 0; i < 1100; i++) {
        standin.store.create(jobs, "default", { ...manifest(`churn-${i}`), metadata: { name: `churn-${i}`, namespace: "default" } } as never);
        standin.store.delete(jobs, "default", `churn-${i}`);
      }
      const lists = () => proxy.requests().filter((r) => r.includes("/jobs?") && !r.includes("watch=true")).length;
      const listed = lists();
      proxy.heal();
      await until(() => cache.lookup(ref("h-new")) !== undefined, "the informer to list again");
      expect(lists()).toBe(listed + 1);
      await until(() => pokes.length >= 2, "pokes for what changed meanwhile");
      expect(pokes.sort()).toEqual(["c-h-edited: Job h-edited modified", "c-h-gone: Job h-gone deleted"]);
      expect(cache.lookup(ref("h-edited"))?.metadata?.annotations?.note).toBe("while-cut");
      expect(cache.lookup(ref("h-gone"))).toBeUndefined();
    } finally {
      watcher.stop();
      await proxy.close();
    }
    expect(cache.lookup(ref("h-same"))).toBeUndefined();
  });
});
