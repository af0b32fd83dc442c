import type { KubeObject } from "./kube.js";
import { createObjectCache } from "./object-cache.js";

const job = (name: string, extra: Partial<KubeObject> = {}): KubeObject => ({ apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace: "hyperfleet" }, ...extra });
const ref = (name: string) => ({ apiVersion: "batch/v1", kind: "Job", namespace: "hyperfleet", name });
const dnsRef = { apiVersion: "hyperfleet.io/v1", kind: "DNSRecord", namespace: "hyperfleet", name: "a" };
const seen = (c: ReturnType<typeof createObjectCache>, name: string) => {
  const l = c.lookup(ref(name));
  return l.known ? (l.obj ? `present ${JSON.stringify(l.obj.status ?? {})}` : "absent") : "unknown";
};

test("before its kind is listed the cache cannot tell; after, absence is an answer", () => {
  const c = createObjectCache();
  expect(seen(c, "a")).toBe("unknown");
  c.replace("batch/v1", "Job", [job("a")]);
  expect(seen(c, "a")).toBe("present {}");
  expect(seen(c, "b")).toBe("absent");
  expect(c.lookup(dnsRef)).toEqual({ known: false }); // another kind, never listed
});

test("watch events keep it current: ADDED, MODIFIED, DELETED", () => {
  const c = createObjectCache();
  c.replace("batch/v1", "Job", []);
  c.apply("ADDED", job("a"));
  c.apply("MODIFIED", job("a", { status: { succeeded: 1 } }));
  expect(seen(c, "a")).toBe('present {"succeeded":1}');
  c.apply("DELETED", job("a"));
  expect(seen(c, "a")).toBe("absent");
  c.apply("BOOKMARK", job("x"));
  expect(c.size()).toBe(0);
});

test("a listing replaces everything the kind held; items without apiVersion/kind are still found", () => {
  const c = createObjectCache();
  c.replace("batch/v1", "Job", [job("old")]);
  c.replace("batch/v1", "Job", [{ metadata: { name: "new", namespace: "hyperfleet" } }]);
  expect(seen(c, "old")).toBe("absent");
  expect(seen(c, "new")).toBe("present {}");
});

test("a watch that ended: nothing is known for its kind until the next listing", () => {
  const c = createObjectCache();
  c.replace("batch/v1", "Job", [job("a")]);
  c.replace("hyperfleet.io/v1", "DNSRecord", [{ ...job("a"), apiVersion: "hyperfleet.io/v1", kind: "DNSRecord" }]);
  c.invalidate("batch/v1", "Job");
  expect(seen(c, "a")).toBe("unknown");
  expect(seen(c, "b")).toBe("unknown");
  expect(c.lookup(dnsRef).known).toBe(true); // other kinds unaffected
});

test("past its bound the oldest entries go and their kind stops answering 'absent'; present entries still answer", () => {
  const c = createObjectCache(2);
  c.replace("batch/v1", "Job", [job("a"), job("b")]);
  expect(seen(c, "z")).toBe("absent");
  c.apply("ADDED", job("c")); // evicts a
  expect(seen(c, "a")).toBe("unknown");
  expect(seen(c, "z")).toBe("unknown");
  expect(seen(c, "c")).toBe("present {}");
  expect(c.size()).toBe(2);
});

test("forget: an object we deleted is not answered from the cache any more", () => {
  const c = createObjectCache();
  c.replace("batch/v1", "Job", [job("a")]);
  c.forget(ref("a"));
  expect(seen(c, "a")).toBe("absent");
});
