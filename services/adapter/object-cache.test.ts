import type { KubeObject } from "./kube.js";
import { createObjectCache, type KindStore } from "./object-cache.js";

const job = (name: string, rv = "1"): KubeObject => ({ apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace: "hyperfleet", resourceVersion: rv } });
const ref = (name: string) => ({ apiVersion: "batch/v1", kind: "Job", namespace: "hyperfleet", name });
/** An informer's store as client-node keeps it: namespace/name → the latest object (replaced on each change). */
const store = (...objects: KubeObject[]) => {
  const m = new Map(objects.map((o) => [`${o.metadata?.namespace}/${o.metadata?.name}`, o]));
  const s: KindStore & { set(o: KubeObject): void; remove(name: string): void } = {
    get: (name, namespace) => m.get(`${namespace}/${name}`),
    set: (o) => void m.set(`${o.metadata?.namespace}/${o.metadata?.name}`, o),
    remove: (name) => void m.delete(`hyperfleet/${name}`),
  };
  return s;
};

test("answers only for kinds whose informer is attached, and never that an object is absent", () => {
  const c = createObjectCache();
  const jobs = store(job("a"));
  expect(c.lookup(ref("a"))).toBeUndefined(); // not attached: ask Kubernetes
  expect(c.watches(ref("b"))).toBe(false);
  c.attach("batch/v1", "Job", jobs);
  expect(c.watches(ref("b"))).toBe(true); // a miss now most likely means absent: reconcile creates at once
  expect(c.lookup(ref("a"))).toBe(jobs.get("a", "hyperfleet"));
  expect(c.lookup(ref("b"))).toBeUndefined(); // absent from the informer, yet it may exist without our label
  expect(c.lookup({ ...ref("a"), apiVersion: "batch/v2" })).toBeUndefined(); // another version is another kind
});

test("a detached kind answers nothing; other kinds are unaffected", () => {
  const c = createObjectCache();
  const records = store({ apiVersion: "hyperfleet.io/v1", kind: "DNSRecord", metadata: { name: "a", namespace: "hyperfleet" } });
  c.attach("batch/v1", "Job", store(job("a")));
  c.attach("hyperfleet.io/v1", "DNSRecord", records);
  c.detach("batch/v1", "Job");
  expect(c.lookup(ref("a"))).toBeUndefined();
  expect(c.watches(ref("a"))).toBe(false);
  expect(c.lookup({ apiVersion: "hyperfleet.io/v1", kind: "DNSRecord", namespace: "hyperfleet", name: "a" })).toBeDefined();
});

test("an object we deleted is not answered while the informer still holds it, and is again once it holds a newer one", () => {
  const c = createObjectCache();
  const jobs = store(job("a", "1"), job("b", "1"));
  c.attach("batch/v1", "Job", jobs);
  c.forget(ref("a"));
  expect(c.lookup(ref("a"))).toBeUndefined(); // its DELETED event has not arrived yet
  expect(c.lookup(ref("b"))).toBeDefined();
  jobs.remove("a"); // the DELETED event
  jobs.set(job("a", "7")); // re-created
  expect(c.lookup(ref("a"))?.metadata?.resourceVersion).toBe("7");
  c.forget(ref("missing")); // nothing held: nothing to do
});
