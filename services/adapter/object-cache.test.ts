import type { KubeObject } from "./kube.js";
import { createObjectCache } from "./object-cache.js";

const job = (name: string, extra: Partial<KubeObject> = {}): KubeObject => ({ apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace: "hyperfleet" }, ...extra });
const ref = (name: string) => ({ apiVersion: "batch/v1", kind: "Job", namespace: "hyperfleet", name });
const cache = (opts: { maxObjects?: number } = {}) => createObjectCache(opts);
const seen = (c: ReturnType<typeof createObjectCache>, name: string) => {
  const o = c.lookup(ref(name));
  return o ? `cached ${JSON.stringify(o.status ?? {})}` : "ask Kubernetes";
};

test("answers only for listed kinds, and never that an object is absent", () => {
  const c = cache();
  c.apply("ADDED", job("a")); // an event before the listing: the kind is not known yet
  expect(seen(c, "a")).toBe("ask Kubernetes");
  c.replace("batch/v1", "Job", [job("a")]);
  expect(seen(c, "a")).toBe("cached {}");
  expect(seen(c, "b")).toBe("ask Kubernetes"); // absent from the watch, yet it may exist without our label
});

test("watch events keep it current: ADDED, MODIFIED, DELETED", () => {
  const c = cache();
  c.replace("batch/v1", "Job", []);
  c.apply("ADDED", job("a"));
  c.apply("MODIFIED", job("a", { status: { succeeded: 1 } }));
  expect(seen(c, "a")).toBe('cached {"succeeded":1}');
  c.apply("DELETED", job("a"));
  expect(seen(c, "a")).toBe("ask Kubernetes");
});

test("a listing replaces everything the kind held; items without apiVersion/kind are still found", () => {
  const c = cache();
  c.replace("batch/v1", "Job", [job("old")]);
  c.replace("batch/v1", "Job", [{ metadata: { name: "new", namespace: "hyperfleet" } }]);
  expect(seen(c, "old")).toBe("ask Kubernetes");
  expect(seen(c, "new")).toBe("cached {}");
});

test("a watch that ended: nothing is answered for its kind until the next listing; other kinds are unaffected", () => {
  const c = cache();
  c.replace("batch/v1", "Job", [job("a")]);
  c.replace("hyperfleet.io/v1", "DNSRecord", [{ ...job("a"), apiVersion: "hyperfleet.io/v1", kind: "DNSRecord" }]);
  c.invalidate("batch/v1", "Job");
  expect(seen(c, "a")).toBe("ask Kubernetes");
  expect(c.lookup({ apiVersion: "hyperfleet.io/v1", kind: "DNSRecord", namespace: "hyperfleet", name: "a" })).toBeDefined();
});

test("past its bound the oldest entries go; forget drops one we deleted", () => {
  const c = cache({ maxObjects: 2 });
  c.replace("batch/v1", "Job", [job("a"), job("b")]);
  c.apply("ADDED", job("c")); // evicts a
  expect([seen(c, "a"), seen(c, "b"), seen(c, "c")]).toEqual(["ask Kubernetes", "cached {}", "cached {}"]);
  expect(c.size()).toBe(2);
  c.forget(ref("b"));
  expect(seen(c, "b")).toBe("ask Kubernetes");
});
