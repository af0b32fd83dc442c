/** Owned-object watch: which changes reconcile what (pure), and the watch itself through client-node against the stand-in. */
import { silentLogger } from "../shared/log.js";
import { loadAdapterConfig } from "./adapter-config.js";
import { createKubeObjects, type KubeObject, type KubeObjects } from "./kube.js";
import { createObjectCache } from "./object-cache.js";
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

describe("the read cache it keeps (list, then watch from the listing's resourceVersion)", () => {
  let standin: TestStandin;
  beforeAll(async () => {
    standin = await startStandin();
  });
  afterAll(() => standin.close());

  const manifest = (name: string): KubeObject => ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: "hyperfleet", labels: { "hyperfleet.io/adapter": "validation", "hyperfleet.io/cluster-id": `c-${name}` } },
    spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } },
  });
  const ref = (name: string) => ({ apiVersion: "batch/v1", kind: "Job", namespace: "hyperfleet", name });
  const until = async (what: () => boolean) => {
    for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
    return what();
  };

  test("objects that existed before, created, finished and deleted since: the cache follows; a watch that ends makes it say nothing until re-listed", async () => {
    const plan = loadAdapterConfig("services/adapter/configs/validation.yaml");
    const live = createKubeObjects({ kind: "url", url: standin.url }, 5000);
    await ensureSetup(plan, live);
    await live.create(manifest("before"));
    // The watch's end can be triggered by the test, as a server or network would.
    const ends: ((err?: unknown) => void)[] = [];
    const kube = { ...live, watch: (...a: Parameters<typeof live.watch>) => (ends.push(a[5]), live.watch(...a)) };
    const cache = createObjectCache();
    const pokes: string[] = [];
    const watcher = watchOwnedObjects({ plan, kube, poke: (id) => pokes.push(id), log: silentLogger(), retryMs: 50, cache });
    try {
      expect(await until(() => cache.lookup(ref("before")) !== undefined)).toBe(true);
      expect(cache.lookup(ref("nothing"))).toBeUndefined();
      await live.create(manifest("after"));
      expect(await until(() => cache.lookup(ref("after")) !== undefined)).toBe(true);
      standin.advance(20_000); // both Jobs complete
      const succeeded = (name: string) => (cache.lookup(ref(name))?.status as { succeeded?: number } | undefined)?.succeeded === 1;
      expect(await until(() => succeeded("before") && succeeded("after"))).toBe(true);
      expect(pokes).toContain("c-after"); // the cache is updated before the poke that reads it
      await live.delete(ref("before"));
      expect(await until(() => cache.lookup(ref("before")) === undefined)).toBe(true);

      ends[0](new Error("connection reset"));
      expect(cache.lookup(ref("after"))).toBeUndefined();
      expect(await until(() => succeeded("after"))).toBe(true); // listed again after retryMs
      expect(ends.length).toBe(2);
    } finally {
      watcher.stop();
    }
  });
});

test("a watch that outlives its timeout (a half-open connection never sends its end) is ended and the kind listed again", async () => {
  const plan = loadAdapterConfig("services/adapter/configs/validation.yaml");
  let lists = 0;
  const stopped: number[] = [];
  const kube = {
    list: async () => (lists++, { items: [job({ "hyperfleet.io/adapter": "validation", "hyperfleet.io/cluster-id": "c1" })], resourceVersion: String(lists) }),
    // A stream that never delivers anything and never ends.
    watch: async () => ({ stop: () => stopped.push(lists) }),
  } as unknown as KubeObjects;
  const cache = createObjectCache();
  const watcher = watchOwnedObjects({ plan, kube, poke: () => undefined, log: silentLogger(), retryMs: 10, cache, watchSeconds: 1, watchGraceMs: 100 });
  try {
    await new Promise((r) => setTimeout(r, 50));
    expect(lists).toBe(1);
    await new Promise((r) => setTimeout(r, 1300));
    expect(stopped).toEqual([1]);
    expect(lists).toBe(2);
  } finally {
    watcher.stop();
  }
});

test("changes made while no watch was up are reconciled when the kind is listed again; stop() leaves nothing answering", async () => {
  const plan = loadAdapterConfig("services/adapter/configs/validation.yaml");
  const item = (name: string, cluster: string, rv: string): KubeObject => ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: "hyperfleet", resourceVersion: rv, labels: { "hyperfleet.io/adapter": "validation", "hyperfleet.io/cluster-id": cluster } },
  });
  const listings = [
    [item("a", "c-a", "1"), item("b", "c-b", "1"), item("same", "c-same", "1")],
    [item("a", "c-a", "2"), item("same", "c-same", "1"), item("new", "c-new", "3")], // a finished, b was deleted, new was created
  ];
  let lists = 0;
  const ends: ((err?: unknown) => void)[] = [];
  const kube = {
    list: async () => ({ items: listings[Math.min(lists++, 1)], resourceVersion: String(lists) }),
    watch: async (...a: unknown[]) => (ends.push(a[5] as (err?: unknown) => void), { stop: () => undefined }),
  } as unknown as KubeObjects;
  const cache = createObjectCache();
  const pokes: string[] = [];
  const watcher = watchOwnedObjects({ plan, kube, poke: (id, why) => pokes.push(`${id}: ${why}`), log: silentLogger(), retryMs: 5000, cache });
  const ref = { apiVersion: "batch/v1", kind: "Job", namespace: "hyperfleet", name: "a" };
  try {
    for (let i = 0; i < 100 && !cache.lookup(ref); i++) await new Promise((r) => setTimeout(r, 5));
    expect(pokes).toEqual([]); // the first listing reconciles nothing
    await new Promise((r) => setTimeout(r, 1100)); // a watch that lived its time...
    ends[0](); // ...ends cleanly, as the server ends it: resumed at once, not after retryMs
    for (let i = 0; i < 100 && lists < 2; i++) await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 100 && pokes.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(pokes.sort()).toEqual(["c-a: Job a modified", "c-b: Job b deleted"]);
    expect(cache.lookup(ref)?.metadata?.resourceVersion).toBe("2");
  } finally {
    watcher.stop();
  }
  expect(cache.lookup(ref)).toBeUndefined();
});
