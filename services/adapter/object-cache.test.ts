import type { KubeObject } from "./kube.js";
import { createObjectCache } from "./object-cache.js";

const job = (name: string, extra: Partial<KubeObject> = {}): KubeObject => ({ apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace: "hyperfleet" }, ...extra });
const ref = (name: string) => ({ apiVersion: "batch/v1", kind: "Job", namespace: "hyperfleet", name });
const cache = (opts: { maxObjects?: number } = {}) => createObjectCache(opts);
/** A listing whose watch is then established. */
const listed = (c: ReturnType<typeof createObjectCache>, items: KubeObject[], apiVersion = "batch/v1", kind = "Job") => {
  const missed = c.replace(apiVersion, kind, items);
  c.answer(apiVersion, kind);
  return missed;
};
const seen = (c: ReturnType<typeof createObjectCache>, name: string) => {
  const o = c.lookup(ref(name));
  return o ? `cached ${JSON.stringify(o.status ?? {})}` : "ask Kubernetes";
};

test("answers only for listed kinds, and never that an object is absent", () => {
  const c = cache();
  c.apply("ADDED", job("a")); // an event before the listing: the kind is not known yet
  expect(seen(c, "a")).toBe("ask Kubernetes");
  c.replace("batch/v1", "Job", [job("a")]);
  expect(seen(c, "a")).toBe("ask Kubernetes"); // listed, but its watch is not up yet
  c.answer("batch/v1", "Job");
  expect(seen(c, "a")).toBe("cached {}");
  expect(seen(c, "b")).toBe("ask Kubernetes"); // absent from the watch, yet it may exist without our label
});

test("watch events keep it current: ADDED, MODIFIED, DELETED", () => {
  const c = cache();
  listed(c, []);
  c.apply("ADDED", job("a"));
  c.apply("MODIFIED", job("a", { status: { succeeded: 1 } }));
  expect(seen(c, "a")).toBe('cached {"succeeded":1}');
  c.apply("DELETED", job("a"));
  expect(seen(c, "a")).toBe("ask Kubernetes");
});

test("a listing replaces everything the kind held; items without apiVersion/kind are still found", () => {
  const c = cache();
  listed(c, [job("old")]);
  listed(c, [{ metadata: { name: "new", namespace: "hyperfleet" } }]);
  expect(seen(c, "old")).toBe("ask Kubernetes");
  expect(seen(c, "new")).toBe("cached {}");
});

test("a watch that ended: nothing is answered for its kind until the next listing; other kinds are unaffected", () => {
  const c = cache();
  listed(c, [job("a")]);
  listed(c, [{ ...job("a"), apiVersion: "hyperfleet.io/v1", kind: "DNSRecord" }], "hyperfleet.io/v1", "DNSRecord");
  c.invalidate("batch/v1", "Job");
  expect(seen(c, "a")).toBe("ask Kubernetes");
  expect(c.lookup({ apiVersion: "hyperfleet.io/v1", kind: "DNSRecord", namespace: "hyperfleet", name: "a" })).toBeDefined();
});

test("past its bound the oldest entries go; forget drops one we deleted", () => {
  const c = cache({ maxObjects: 2 });
  listed(c, [job("a"), job("b")]);
  c.apply("ADDED", job("c")); // evicts a
  expect([seen(c, "a"), seen(c, "b"), seen(c, "c")]).toEqual(["ask Kubernetes", "cached {}", "cached {}"]);
  expect(c.size()).toBe(2);
  c.forget(ref("b"));
  expect(seen(c, "b")).toBe("ask Kubernetes");
});

test("a later listing tells what changed since the previous one, which no watch reported; the first tells nothing", () => {
  const c = cache();
  const rv = (name: string, v: string) => job(name, { metadata: { name, namespace: "hyperfleet", resourceVersion: v } });
  expect(listed(c, [rv("same", "1"), rv("edited", "1"), rv("gone", "1")])).toEqual({ changed: [], removed: [] });
  c.invalidate("batch/v1", "Job"); // the watch ended
  const missed = listed(c, [rv("same", "1"), rv("edited", "2"), rv("new", "3")]);
  expect(missed.changed.map((o) => o.metadata?.name)).toEqual(["edited"]);
  expect(missed.removed.map((o) => o.metadata?.name)).toEqual(["gone"]);
  expect(seen(c, "gone")).toBe("ask Kubernetes");
});
