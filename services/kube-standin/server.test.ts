/**
 * Conformance of the Kubernetes stand-in, proven through the real clients: @kubernetes/client-node
 * (what the adapters use) and kubectl. These are the semantics controller-runtime's fake client is
 * documented to get wrong, plus the errors clients branch on.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ApiException, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { silentLogger } from "../shared/log.js";
import { createObjectStore, type ObjectStore } from "./object-store.js";
import { createServer, type StandinServer } from "./server.js";
import { createStageRunner } from "./stage-runner.js";
import { BUILTIN_TYPES } from "./resource-types.js";

const run = promisify(execFile);
let store: ObjectStore;
let server: StandinServer;
let port: number;
let api: KubernetesObjectApi;
let clock = new Date("2026-01-01T00:00:00Z");

beforeAll(async () => {
  store = createObjectStore(() => clock);
  store.create(BUILTIN_TYPES[0], undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } });
  server = createServer({ store, log: silentLogger(), now: () => clock });
  port = await server.listen(0, "127.0.0.1");
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: "standin", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }, { name: "dev" });
  api = KubernetesObjectApi.makeApiClient(kc);
});
afterAll(() => server.close());

type Obj = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };
const job = (name: string, image = "busybox"): Obj => ({
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name, namespace: "default", labels: { "hyperfleet.io/cluster-id": name.startsWith("a") ? "a" : "b" } },
  spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image }] } } },
});
async function apiError(p: Promise<unknown>): Promise<{ code: number; reason: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as ApiException<string>;
    const body = typeof e.body === "string" ? JSON.parse(e.body) : e.body;
    return { code: e.code, reason: body.reason };
  }
  throw new Error("expected the call to fail");
}
const kubectl = (...args: string[]) => run("kubectl", ["--server", `http://127.0.0.1:${port}`, ...args], { env: { ...process.env, KUBECONFIG: "/dev/null", HOME: "/tmp" }, timeout: 20_000 }).then((r) => r.stdout);

describe("objects through client-node", () => {
  test("create sets uid, generation 1 and a resourceVersion; a duplicate create is 409 AlreadyExists", async () => {
    const created = await api.create(job("a-create"));
    expect(created.metadata?.generation).toBe(1);
    expect(created.metadata?.uid).toBeTruthy();
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(await apiError(api.create(job("a-create")))).toEqual({ code: 409, reason: "AlreadyExists" });
  });

  test("reading a missing object is 404 NotFound with a Status body", async () => {
    expect(await apiError(api.read({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "nope", namespace: "default" } }))).toEqual({ code: 404, reason: "NotFound" });
  });

  test("creating in a namespace that does not exist is 404", async () => {
    const j = job("a-nons");
    j.metadata!.namespace = "missing";
    expect((await apiError(api.create(j))).code).toBe(404);
  });

  test("every write changes resourceVersion; a metadata-only change keeps generation", async () => {
    const created = await api.create(job("a-meta"));
    const patched = await api.patch<Obj>(
      { apiVersion: "batch/v1", kind: "Job", metadata: { name: "a-meta", namespace: "default", annotations: { "hyperfleet.io/generation": "2" } } },
      undefined, undefined, undefined, undefined, PatchStrategy.MergePatch,
    );
    expect(patched.metadata?.annotations?.["hyperfleet.io/generation"]).toBe("2");
    expect(patched.metadata?.generation).toBe(1);
    expect(patched.metadata?.resourceVersion).not.toBe(created.metadata?.resourceVersion);
  });

  test("an update carrying a stale resourceVersion is 409 Conflict", async () => {
    const created = await api.create(job("a-stale"));
    await api.patch({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "a-stale", namespace: "default", labels: { x: "1" } } }, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
    expect(await apiError(api.replace(created))).toEqual({ code: 409, reason: "Conflict" });
  });

  test("a Job's spec.template is immutable: changing it is 422 Invalid", async () => {
    const created = await api.create(job("a-immutable"));
    (created.spec!.template as { spec: { containers: { image: string }[] } }).spec.containers[0].image = "other";
    expect(await apiError(api.replace(created))).toEqual({ code: 422, reason: "Invalid" });
  });

  test("list filters by label selector", async () => {
    await api.create(job("b-one"));
    const list = await api.list("batch/v1", "Job", "default", undefined, undefined, undefined, undefined, "hyperfleet.io/cluster-id=b");
    expect(list.items.map((i) => i.metadata?.name)).toEqual(["b-one"]);
  });

  test("delete removes the object; deleting again is 404", async () => {
    await api.create(job("a-delete"));
    await api.delete({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "a-delete", namespace: "default" } });
    expect((await apiError(api.delete({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "a-delete", namespace: "default" } }))).code).toBe(404);
  });
});

describe("custom resources", () => {
  const crd: Obj = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "dnsrecords.hyperfleet.io" },
    spec: {
      group: "hyperfleet.io",
      scope: "Namespaced",
      names: { plural: "dnsrecords", singular: "dnsrecord", kind: "DNSRecord", listKind: "DNSRecordList" },
      versions: [{ name: "v1alpha1", served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
    },
  };
  const record = (domain: string): Obj => ({ apiVersion: "hyperfleet.io/v1alpha1", kind: "DNSRecord", metadata: { name: "c1-dns", namespace: "default" }, spec: { domain } });

  beforeAll(async () => {
    await api.create(crd);
  });

  test("a CRD makes its kind servable; spec changes bump generation, status writes do not", async () => {
    const created = await api.create(record("c1.example"));
    expect(created.metadata?.generation).toBe(1);
    const statusPath = `http://127.0.0.1:${port}/apis/hyperfleet.io/v1alpha1/namespaces/default/dnsrecords/c1-dns/status`;
    const res = await fetch(statusPath, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...created, status: { ready: true } }) });
    const afterStatus = (await res.json()) as Obj;
    expect(afterStatus.metadata?.generation).toBe(1);
    expect(afterStatus.status).toEqual({ ready: true });
    const replaced = await api.replace({ ...afterStatus, spec: { domain: "c1.other" }, status: { ready: false } });
    expect(replaced.metadata?.generation).toBe(2);
    expect(replaced.status).toEqual({ ready: true });
  });

  test("kubectl lists jobs across namespaces and custom resources by plural", async () => {
    expect(await kubectl("get", "jobs", "-A")).toMatch(/default\s+a-create\s+Running/);
    expect(await kubectl("get", "dnsrecords", "-n", "default")).toMatch(/c1-dns/);
    expect(await kubectl("get", "job", "nope", "-n", "default").catch((e) => e.stderr)).toMatch(/NotFound.*"nope" not found/);
  });
});

describe("malformed requests are 4xx, never 500", () => {
  test.each([
    ["Regression guard: bad percent-encoding in the path", "GET", "/api/v1/namespaces/%E0", undefined, undefined, 400],
    ["Regression guard: a merge patch that is not an object", "PATCH", "/apis/batch/v1/namespaces/default/jobs/a-create", "application/merge-patch+json", "null", 400],
    ["a JSON patch that is not a list", "PATCH", "/apis/batch/v1/namespaces/default/jobs/a-create", "application/json-patch+json", "{}", 400],
    ["a watch from a resourceVersion that is not a number", "GET", "/apis/batch/v1/jobs?watch=true&resourceVersion=-5", undefined, undefined, 400],
  ])("%s → %s", async (_name, method, path, type, body, code) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: type ? { "content-type": type } : {}, body });
    expect(res.status).toBe(code);
    expect(((await res.json()) as { kind: string }).kind).toBe("Status");
  });
});

/** Reads a watch stream until `done` holds for the events so far, or the stream ends. */
async function watchEvents(path: string, done: (events: { type: string; object: Obj & { code?: number; reason?: string } }[]) => boolean = () => false, base = `http://127.0.0.1:${port}`) {
  const ctrl = new AbortController();
  const res = await fetch(`${base}${path}`, { signal: ctrl.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const events = () => text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  let ended = false;
  while (!done(events())) {
    const chunk = await reader.read();
    if (chunk.done) {
      ended = true;
      break;
    }
    text += decoder.decode(chunk.value, { stream: true });
  }
  ctrl.abort();
  return { status: res.status, events: events(), ended };
}

test("a watch resuming from before the retained history gets 410 Expired as an ERROR event, then ends (the client must list again)", async () => {
  const t = store.resolve("batch", "v1", "jobs")!;
  for (let i = 0; i < 1100; i++) {
    store.create(t, "default", job(`h-${i}`) as never);
    store.delete(t, "default", `h-${i}`);
  }
  // As the real API server's watch cache: the watch is established, and the error is its one event.
  const w = await watchEvents("/apis/batch/v1/jobs?watch=true&resourceVersion=2");
  expect(w.status).toBe(200);
  expect(w.ended).toBe(true);
  expect(w.events).toEqual([{ type: "ERROR", object: expect.objectContaining({ kind: "Status", code: 410, reason: "Expired" }) }]);
});

describe("watch bookmarks (allowWatchBookmarks)", () => {
  test("a watch that asks gets a BOOKMARK with the latest resourceVersion as it times out; one that does not, none", async () => {
    const t = store.resolve("batch", "v1", "jobs")!;
    store.create(t, "default", job("bm-1") as never); // not matched by the selector below: no event, but a newer resourceVersion
    const latest = store.resourceVersion();
    const quiet = "/apis/batch/v1/namespaces/default/jobs?watch=true&labelSelector=nothing%3Dhere&timeoutSeconds=1";
    const asked = await watchEvents(`${quiet}&allowWatchBookmarks=true&resourceVersion=${latest}`);
    expect(asked.ended).toBe(true);
    expect(asked.events).toEqual([{ type: "BOOKMARK", object: { apiVersion: "batch/v1", kind: "Job", metadata: { resourceVersion: latest } } }]);
    const plain = await watchEvents(`${quiet}&resourceVersion=${latest}`);
    expect(plain.events).toEqual([]);
  });

  test("and one every bookmark interval while it is open", async () => {
    const s = createServer({ store, log: silentLogger(), now: () => clock, bookmarkIntervalMs: 20 });
    const p = await s.listen(0, "127.0.0.1");
    try {
      const latest = store.resourceVersion();
      const w = await watchEvents(`/apis/batch/v1/namespaces/default/jobs?watch=true&allowWatchBookmarks=true&resourceVersion=${latest}`, (e) => e.length >= 2, `http://127.0.0.1:${p}`);
      expect(w.events.map((e) => `${e.type} ${e.object.metadata?.resourceVersion}`)).toEqual([`BOOKMARK ${latest}`, `BOOKMARK ${latest}`]);
    } finally {
      await s.close();
    }
  });
});

test("a labelled watch: an object that comes to match is ADDED, one that stops matching is DELETED with its last matching state", async () => {
  const t = store.resolve("batch", "v1", "jobs")!;
  const from = store.resourceVersion();
  store.create(t, "default", { ...job("sel-1"), metadata: { name: "sel-1", namespace: "default", labels: { tier: "other" } } } as never);
  const relabel = (tier: string) => store.update(t, "default", "sel-1", { ...store.get(t, "default", "sel-1"), metadata: { ...store.get(t, "default", "sel-1").metadata, labels: { tier } } });
  const matching = relabel("web");
  const leaving = relabel("db");
  const w = await watchEvents(`/apis/batch/v1/namespaces/default/jobs?watch=true&labelSelector=tier%3Dweb&resourceVersion=${from}`, (e) => e.length >= 2);
  expect(w.events.map((e) => [e.type, e.object.metadata?.labels?.tier, e.object.metadata?.resourceVersion])).toEqual([
    ["ADDED", "web", matching.metadata.resourceVersion],
    ["DELETED", "web", leaving.metadata.resourceVersion],
  ]);
});

describe("stages and watch", () => {
  test("a Job runs, then completes after the configured duration (KWOK-style)", async () => {
    const stages = createStageRunner(store, { jobDurationMs: 10_000, dnsDelayMs: 5_000, speed: 1 }, silentLogger(), () => clock);
    await api.create(job("a-stage"));
    stages.tick();
    const read = () => api.read<Obj>({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "a-stage", namespace: "default" } });
    expect((await read()).status).toMatchObject({ active: 1 });
    clock = new Date(clock.getTime() + 10_000);
    stages.tick();
    expect((await read()).status).toMatchObject({ succeeded: 1 });
  });

  test("the runner only looks at objects still in flight, and a write puts one back", async () => {
    const stages = createStageRunner(store, { jobDurationMs: 10_000, dnsDelayMs: 5_000, speed: 1 }, silentLogger(), () => clock);
    const before = stages.inFlight();
    await api.create(job("c-stage"));
    expect(stages.inFlight()).toBe(before + 1);
    clock = new Date(clock.getTime() + 10_000);
    stages.tick();
    expect(stages.inFlight()).toBe(before);
    // A completed Job leaves the runner; deleting it and creating it again brings it back.
    await api.delete({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "c-stage", namespace: "default" } });
    await api.create(job("c-stage"));
    expect(stages.inFlight()).toBe(before + 1);
    stages.tick();
    const read = await api.read<Obj>({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "c-stage", namespace: "default" } });
    expect(read.status).toMatchObject({ active: 1 });
  });

  test("watch streams ADDED for existing objects, then changes as they happen", async () => {
    const ctrl = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/apis/batch/v1/namespaces/default/jobs?watch=true&labelSelector=hyperfleet.io/cluster-id%3Db`, { signal: ctrl.signal });
    const reader = res.body!.getReader();
    let text = "";
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    };
    await until(/"ADDED".*"b-one"/);
    await api.create(job("b-two"));
    await until(/"ADDED".*"b-two"/);
    await api.delete({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "b-two", namespace: "default" } });
    await until(/"DELETED".*"b-two"/);
    ctrl.abort();
  });
});
