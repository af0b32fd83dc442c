/**
 * The adapter runtime against the real API (real Postgres) and the Kubernetes stand-in through
 * @kubernetes/client-node, with the stand-in's clock driven by hand.
 */
import type { JsonObject } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdapterService } from "../../gen/hyperfleet/v1/adapter_pb.js";
import type { ApiClient } from "../shared/api-client.js";
import { silentLogger } from "../shared/log.js";
import { parseAdapterConfig, type AdapterPlan } from "./adapter-config.js";
import { createKubeObjects, type KubeObjects } from "./kube.js";
import { createObjectCache } from "./object-cache.js";
import { watchOwnedObjects } from "./owned-watch.js";
import { reconcile, type ReconcileResult } from "./reconcile.js";
import { createServer } from "./server.js";
import type { TestStandin } from "../../test/support/start-standin.js";
import { startAdapterHarness, type AdapterHarness } from "../../test/support/adapter-harness.js";
import { conditionWord } from "../../test/support/reports.js";
import { eventually } from "../../test/support/brokers.js";
import { countingApi } from "../../test/support/counting-api.js";
import { Phase } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { createNoAuth } from "../shared/auth/index.js";

let harness: AdapterHarness;
let standin: TestStandin;
let client: ApiClient;
let kube: KubeObjects;
let plans: Record<string, AdapterPlan>;
let clock = Date.now();

beforeAll(async () => {
  harness = await startAdapterHarness(["validation", "dns", "placement"]);
  ({ standin, client, kube, plans } = harness);
});
afterAll(() => harness.close());

/** Each call moves the adapters' clock forward, so reports are ordered like real ones. */
const now = () => new Date((clock += 1000));
const run = (adapter: string, id: string, dryRun = false) => reconcile({ plan: plans[adapter], api: client, kube, now }, id, dryRun);
const jobs = (clusterId: string) => standin.store.list(standin.store.resolve("batch", "v1", "jobs")!, "hyperfleet", [{ key: "hyperfleet.io/cluster-id", op: "=", value: clusterId }]).items;
const row = async (id: string, adapter: string) => (await client.statuses.listStatuses({ resourceId: id })).statuses.find((s) => s.adapter === adapter)!;
const words = async (id: string, adapter: string) => {
  const r = await row(id, adapter);
  return `gen${r.observedGeneration} Applied=${conditionWord(r.conditions, "Applied")} Available=${conditionWord(r.conditions, "Available")} Health=${conditionWord(r.conditions, "Health")}`;
};
let n = 0;
const newCluster = (spec: JsonObject = {}) => client.clusters.createCluster({ name: `adapter-test-${++n}`, spec });

test("validation: one event → one generation-named Job carrying labels and the generation annotation, and a report", async () => {
  const c = await newCluster();
  const r = await run("validation", c.id);
  expect(r.outcome).toBe("Reported");
  const [job] = jobs(c.id);
  expect(job.metadata.name).toBe(`validation-${c.id}-gen1`);
  expect(job.metadata.labels).toMatchObject({ "hyperfleet.io/cluster-id": c.id, "hyperfleet.io/adapter": "validation" });
  expect(job.metadata.annotations).toMatchObject({ "hyperfleet.io/generation": "1" });
  expect(await words(c.id, "validation")).toBe("gen1 Applied=True Available=False Health=True");
});

test("a reconcile that creates its Job makes two API calls: it reads the cluster once and reports once", async () => {
  const c = await newCluster();
  const { api, calls } = countingApi(client);
  const r = await reconcile({ plan: plans.validation, api, kube, now }, c.id);
  expect(r.objects.map((o) => o.action)).toEqual(["create"]);
  expect(calls).toEqual({ getCluster: 1, reportStatus: 1 });
});

test("a cluster deleted while its Job was being created: the report after the create says so, and the reconcile cleans up at once", async () => {
  const c = await newCluster();
  // dns has a row, so the deletion waits for its Finalized too and the cluster stays (deleting).
  await run("dns", c.id);
  const { api, calls } = countingApi(client);
  // The deletion lands between the cluster's read and the Job's create, as another replica's would.
  const deletingKube: KubeObjects = { ...kube, create: async (o) => (await client.clusters.deleteCluster({ id: c.id }), kube.create(o)) };
  const r = await reconcile({ plan: plans.validation, api, kube: deletingKube, now }, c.id);
  expect(r.trace.join("\n")).toContain(`${c.id} was deleted while its objects were created`);
  expect(r.outcome).toBe("Finalized");
  expect(jobs(c.id)).toEqual([]);
  expect(calls).toEqual({ getCluster: 2, reportStatus: 2 });
  expect(conditionWord((await row(c.id, "validation")).conditions, "Finalized")).toBe("True");
});

test("the same event ten times → still one Job, and the same report each time (idempotent)", async () => {
  const c = await newCluster();
  const results: ReconcileResult[] = [];
  for (let i = 0; i < 10; i++) results.push(await run("validation", c.id));
  expect(jobs(c.id)).toHaveLength(1);
  expect(results.map((r) => r.objects[0].action)).toEqual(["create", ...Array(9).fill("skip")]);
  const conds = results.map((r) => r.report!.conditions.map((x) => `${x.type}=${x.status}:${x.reason}:${x.message}`).join(","));
  expect(new Set(conds).size).toBe(1);
});

test("the Job completes → Available=True; generation 2 → a second Job, gen-2 report Available=False until it completes (spec §7)", async () => {
  const c = await newCluster();
  await run("validation", c.id);
  standin.advance(20_000);
  await run("validation", c.id);
  expect(await words(c.id, "validation")).toBe("gen1 Applied=True Available=True Health=True");

  await client.clusters.updateCluster({ id: c.id, spec: { region: "eu" } });
  await run("validation", c.id);
  expect(jobs(c.id).map((j) => j.metadata.name).sort()).toEqual([`validation-${c.id}-gen1`, `validation-${c.id}-gen2`]);
  expect(await words(c.id, "validation")).toBe("gen2 Applied=True Available=False Health=True");
  standin.advance(20_000);
  await run("validation", c.id);
  expect(await words(c.id, "validation")).toBe("gen2 Applied=True Available=True Health=True");
});

test("dns waits for validation at the current generation, then creates its record and reports data.dns", async () => {
  const c = await newCluster({ baseDomain: "example.org" });
  expect((await run("dns", c.id)).outcome).toBe("PreconditionsNotMet");
  expect(await words(c.id, "dns")).toBe("gen1 Applied=False Available=False Health=True");
  await run("validation", c.id);
  standin.advance(20_000);
  await run("validation", c.id);
  await run("dns", c.id);
  expect(await words(c.id, "dns")).toBe("gen1 Applied=True Available=False Health=True");
  standin.advance(10_000);
  await run("dns", c.id);
  const dns = await row(c.id, "dns");
  expect(await words(c.id, "dns")).toBe("gen1 Applied=True Available=True Health=True");
  expect(dns.data).toEqual({ dns: `${c.name}.example.org` });

  // Generation 2: validation's gen-1 Available no longer counts (spec §7) until it finishes gen 2 ...
  await client.clusters.updateCluster({ id: c.id, spec: { baseDomain: "example.org", v: 2 } });
  expect((await run("dns", c.id)).outcome).toBe("PreconditionsNotMet");
  await run("validation", c.id);
  standin.advance(20_000);
  await run("validation", c.id);
  // ... then dns replaces its record in place and reports generation 2 at once, still Available.
  const r = await run("dns", c.id);
  expect(r.objects[0]).toMatchObject({ action: "replace", reason: "OtherGeneration" });
  expect(await words(c.id, "dns")).toBe("gen2 Applied=True Available=True Health=True");
});

test("a failed Job → Available=False with the Job's reason, Health=True", async () => {
  const c = await newCluster({ simulate: { validation: "Failed" } });
  await run("validation", c.id);
  standin.advance(20_000);
  await run("validation", c.id);
  const v = await row(c.id, "validation");
  expect(await words(c.id, "validation")).toBe("gen1 Applied=True Available=False Health=True");
  const available = v.conditions.find((x) => x.type === "Available")!;
  expect(available.reason).toBe("JobFailed");
  expect(available.message).toContain("backoff limit");
});

test("Kubernetes unreachable → Health=False with the error, reported", async () => {
  const c = await newCluster();
  const dead = createKubeObjects({ kind: "url", url: "http://127.0.0.1:1" }, 2000);
  const r = await reconcile({ plan: plans.validation, api: client, kube: dead, now }, c.id);
  expect(r.outcome).toBe("KubernetesError");
  expect(await words(c.id, "validation")).toBe("gen1 Applied=Unknown Available=False Health=False");
  expect((await row(c.id, "validation")).conditions.find((x) => x.type === "Health")!.message).toMatch(/ECONNREFUSED|fetch failed|connect/i);
});

test("a manifest that does not render for the cluster → TemplateError reported, nothing applied, not a Kubernetes error", async () => {
  // Regression guard: a render failure used to be thrown as a KubeError and reported as KubernetesError.
  const plan = parseAdapterConfig(
    [
      "adapter: placement", // an adapter the API runs for clusters: others are refused
      "objects:",
      "  - id: job",
      "    onNewGeneration: newObject",
      "    readiness: job",
      "    manifest:",
      "      apiVersion: batch/v1",
      "      kind: Job",
      '      metadata: { name: "regional-${cluster.id}-gen${cluster.generation}" }',
      '      spec: { region: "${cluster.spec.region}" }',
    ].join("\n"),
    "regional.yaml",
  );
  const c = await newCluster(); // no spec.region
  const r = await reconcile({ plan, api: client, kube, now }, c.id);
  expect(r).toMatchObject({ outcome: "TemplateError", reason: "TemplateError", objects: [] });
  expect(r.error).toMatch(/^object job: .*region/);
  expect(r.trace.join("\n")).toMatch(/template error: object job/);
  expect(r.trace.join("\n")).not.toMatch(/kubernetes error/);
  expect(jobs(c.id)).toHaveLength(0);
  const reported = await row(c.id, "placement");
  expect(await words(c.id, "placement")).toBe("gen1 Applied=False Available=False Health=False");
  expect(reported.conditions.map((x) => x.reason)).toEqual(["TemplateError", "TemplateError", "TemplateError"]);
});

test("killed between create and report: the next event finds the Job and converges without a duplicate", async () => {
  const c = await newCluster();
  // What a crashed adapter leaves behind: its Job, and no report.
  const r = await run("validation", c.id, true);
  await kube.create(r.objects[0].manifest as never);
  expect((await client.statuses.listStatuses({ resourceId: c.id })).statuses).toHaveLength(0);
  const again = await run("validation", c.id);
  expect(again.objects[0].action).toBe("skip");
  expect(jobs(c.id)).toHaveLength(1);
  expect(await words(c.id, "validation")).toBe("gen1 Applied=True Available=False Health=True");
});

test("a Job deleted behind the adapter's back at the current generation is re-created (spec §7)", async () => {
  const c = await newCluster();
  await run("validation", c.id);
  await kube.delete({ apiVersion: "batch/v1", kind: "Job", namespace: "hyperfleet", name: `validation-${c.id}-gen1` });
  const r = await run("validation", c.id);
  expect(r.objects[0]).toMatchObject({ action: "recreate", reason: "VanishedAtCurrentGeneration" });
  expect(jobs(c.id)).toHaveLength(1);
});

test("a resource that is gone → nothing is reported", async () => {
  const r = await run("validation", "0190aaaa-0000-7000-8000-000000000000");
  expect(r.outcome).toBe("ResourceGone");
  expect(r.report).toBeUndefined();
});

test("AdapterService.DryRun shows the plan and the report without creating anything or reporting", async () => {
  const c = await newCluster();
  const { server } = createServer({ plan: plans.validation, api: client, kube, subscription: "x", log: silentLogger(), auth: createNoAuth(), now });
  const port = await server.listen(0, "127.0.0.1");
  try {
    const svc = createClient(AdapterService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
    const dry = await svc.dryRun({ resourceId: c.id });
    expect(dry.outcome).toBe("Reported");
    expect(dry.objects.map((o) => [o.kind, o.name, o.action])).toEqual([["Job", `validation-${c.id}-gen1`, "create"]]);
    expect(dry.trace.join("\n")).toMatch(/preconditions met/);
    expect(jobs(c.id)).toHaveLength(0);
    expect((await client.statuses.listStatuses({ resourceId: c.id })).statuses).toHaveLength(0);
    const status = await svc.getStatus({});
    expect(status.adapter).toBe("validation");
    const malformed = await svc.dryRun({ eventJson: "{not json" });
    expect(malformed.outcome).toBe("Malformed");
  } finally {
    await server.close(100);
  }
});

test("placement needs validation and dns, then creates its Job → cluster Ready; a new generation only re-annotates it", async () => {
  const c = await newCluster({ simulate: { placementDuration: "30s" } });
  expect((await run("placement", c.id)).outcome).toBe("PreconditionsNotMet");
  await run("validation", c.id);
  standin.advance(20_000);
  await run("validation", c.id);
  await run("dns", c.id);
  standin.advance(10_000);
  await run("dns", c.id);
  await run("placement", c.id);
  expect(await words(c.id, "placement")).toBe("gen1 Applied=True Available=False Health=True");
  standin.advance(30_000);
  await run("placement", c.id);
  expect(await words(c.id, "placement")).toBe("gen1 Applied=True Available=True Health=True");
  // validation, dns and placement all Available at generation 1: the cluster is Ready.
  expect((await client.clusters.getCluster({ id: c.id })).status?.phase).toBe(Phase.READY);

  await client.clusters.updateCluster({ id: c.id, spec: { simulate: { placementDuration: "30s" }, v: 2 } });
  await run("validation", c.id);
  standin.advance(20_000);
  await run("validation", c.id);
  await run("dns", c.id);
  const r = await run("placement", c.id);
  expect(r.objects[0]).toMatchObject({ action: "replace", name: `placement-${c.id}` });
  expect(jobs(c.id).filter((j) => j.metadata.name.startsWith("placement"))).toHaveLength(1);
  expect(await words(c.id, "placement")).toBe("gen2 Applied=True Available=True Health=True");
});

test("with the watch-fed cache, reconciles read their objects from it; a new object is created without a read, and a drift check asks Kubernetes", async () => {
  const cache = createObjectCache();
  const gets: string[] = [];
  const counted: KubeObjects = { ...kube, get: (ref) => (gets.push(ref.name), kube.get(ref)) };
  const watcher = watchOwnedObjects({ plan: plans.validation, kube, poke: () => undefined, log: silentLogger(), retryMs: 50, cache });
  const until = (what: () => boolean) => eventually(() => (what() ? true : undefined), 20_000, 10);
  try {
    const c = await newCluster();
    const name = `validation-${c.id}-gen1`;
    const ref = { apiVersion: "batch/v1", kind: "Job", namespace: "hyperfleet", name };
    const cached = () => reconcile({ plan: plans.validation, api: client, kube: counted, cache, now }, c.id);
    expect((await cached()).objects[0].action).toBe("create");
    // Regression guard: a GET answering 404 came before every create.
    expect(gets).toEqual([]);
    // The cache is not trusted with absence: an object its watch has not shown yet answers the create
    // with AlreadyExists, and is then read and left alone (no duplicate, no second Job).
    const blind = createObjectCache();
    blind.attach("batch/v1", "Job", { get: () => undefined });
    const again = await reconcile({ plan: plans.validation, api: client, kube: counted, cache: blind, now }, c.id);
    expect(again.objects.map((o) => o.action)).toEqual(["skip"]);
    expect(gets).toEqual([name]);
    expect(jobs(c.id)).toHaveLength(1);
    await until(() => cache.lookup(ref) !== undefined);
    standin.advance(20_000);
    await until(() => (cache.lookup(ref)?.status as { succeeded?: number } | undefined)?.succeeded === 1);
    const r = await cached();
    expect(r.objects[0].action).toBe("skip");
    expect(gets).toHaveLength(1); // read from the cache, and it saw the Job finish
    expect(await words(c.id, "validation")).toBe("gen1 Applied=True Available=True Health=True");

    await run("dns", c.id);
    await run("placement", c.id);
    standin.advance(60_000);
    await run("dns", c.id);
    await run("placement", c.id); // creates the placement Job
    standin.advance(120_000);
    await run("placement", c.id);
    expect((await client.clusters.getCluster({ id: c.id })).status?.phase).toBe(Phase.READY);
    await cached(); // Ready, but validation reported moments ago: the tail of convergence, from the cache
    expect(gets).toHaveLength(1);
    clock += 120_000;
    await cached(); // Ready and not reported on for two minutes: the drift check asks Kubernetes
    expect(gets).toHaveLength(2);
  } finally {
    watcher.stop();
  }
});
