import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { Phase, ResourceView } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { ReportOutcome } from "../../gen/hyperfleet/v1/status_pb.js";
import { startApi, type TestApi } from "../../test/support/start-api.js";
import { conditionWord, reportRequest } from "../../test/support/reports.js";

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

async function rejection(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

let seq = 0;
const uniqueName = (base = "cls") => `${base}-${process.pid % 1000}-${++seq}`;
const create = (labels: Record<string, string> = {}, name = uniqueName()) => api.clusters.createCluster({ name, labels, spec: { region: "eu" } });

describe("ClusterService", () => {
  test("create returns a UUIDv7 at generation 1, NotReady, with href and the caller as actor (an x-hyperfleet-user header from a caller that is not a trusted proxy changes nothing)", async () => {
    const c = await api.clusters.createCluster({ name: uniqueName(), spec: { a: 1 } }, { headers: { "x-hyperfleet-user": "alice" } });
    expect(c.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(c.href).toBe(`/api/hyperfleet/v1/clusters/${c.id}`);
    expect(c.generation).toBe(1n);
    expect(c.status?.phase).toBe(Phase.NOT_READY);
    expect(c.createdBy).toBe("anonymous"); // AUTH=none: every caller is "anonymous"
    expect(c.spec).toEqual({ a: 1 });
    expect((await api.clusters.getCluster({ id: c.id })).name).toBe(c.name);
  });

  test("a duplicate live name is AlreadyExists; a deleted cluster frees its name", async () => {
    const c = await create();
    const err = await rejection(create({}, c.name));
    expect(err.code).toBe(Code.AlreadyExists);
    expect(err.rawMessage).toContain(c.name);
    await api.clusters.deleteCluster({ id: c.id });
    expect((await create({}, c.name)).name).toBe(c.name);
  });

  test("bad input is InvalidArgument naming every field, with a google.rpc.BadRequest detail", async () => {
    const err = await rejection(api.clusters.createCluster({ name: "Bad_Name", labels: { env: "x".repeat(64) } }));
    expect(err.code).toBe(Code.InvalidArgument);
    const fields = err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
    expect(fields).toEqual(["name", 'labels["env"]', "spec"]);
    expect(err.rawMessage).not.toMatch(/select|insert|at .*\.ts/i);
  });

  test("Regression guard: a NUL character in spec was a Postgres error (500); now InvalidArgument on spec", async () => {
    const err = await rejection(api.clusters.createCluster({ name: uniqueName(), spec: { note: "a\u0000b" } }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.findDetails(BadRequestSchema)[0].fieldViolations[0].field).toBe("spec");
  });

  test("unknown or malformed ids are NotFound", async () => {
    expect((await rejection(api.clusters.getCluster({ id: "0190aaaa-0000-7000-8000-000000000000" }))).code).toBe(Code.NotFound);
    expect((await rejection(api.clusters.getCluster({ id: "not-a-uuid" }))).code).toBe(Code.NotFound);
  });

  test("update bumps generation only on an effective change and replaces fields wholesale", async () => {
    const c = await create({ env: "dev", team: "a" });
    const same = await api.clusters.updateCluster({ id: c.id, labels: { team: "a", env: "dev" } });
    expect(same.generation).toBe(1n);
    const changed = await api.clusters.updateCluster({ id: c.id, spec: { region: "us" } });
    expect(changed.generation).toBe(2n);
    expect(changed.spec).toEqual({ region: "us" });
    expect(changed.labels).toEqual({ env: "dev", team: "a" });
    const relabelled = await api.clusters.updateCluster({ id: c.id, labels: { env: "prod" } });
    expect(relabelled.generation).toBe(3n);
    expect(relabelled.labels).toEqual({ env: "prod" });
    const cleared = await api.clusters.updateCluster({ id: c.id, updateMask: { paths: ["labels"] } });
    expect(cleared.labels).toEqual({});
    expect(cleared.generation).toBe(4n);
  });

  test("update with nothing to change is InvalidArgument; an unknown mask path names it", async () => {
    const c = await create();
    expect((await rejection(api.clusters.updateCluster({ id: c.id }))).code).toBe(Code.InvalidArgument);
    const err = await rejection(api.clusters.updateCluster({ id: c.id, updateMask: { paths: ["name"] } }));
    expect(err.findDetails(BadRequestSchema)[0].fieldViolations[0].field).toBe("update_mask.paths[0]");
  });

  test("delete is a soft delete: generation +1 once, NotReady, updates refused, still readable", async () => {
    const c = await create();
    const d1 = await api.clusters.deleteCluster({ id: c.id });
    expect(d1.generation).toBe(2n);
    expect(d1.deletedTime).toBeDefined();
    const d2 = await api.clusters.deleteCluster({ id: c.id });
    expect(d2.generation).toBe(2n);
    expect((await rejection(api.clusters.updateCluster({ id: c.id, spec: {} }))).code).toBe(Code.FailedPrecondition);
    expect((await api.clusters.getCluster({ id: c.id })).deletedTime).toBeDefined();
  });

  test("list pages by keyset: every cluster exactly once even while clusters are created between pages", async () => {
    const team = uniqueName("team");
    for (let i = 0; i < 12; i++) await create({ team });
    const seen: string[] = [];
    let token = "";
    const totals: bigint[] = [];
    do {
      const page = await api.clusters.listClusters({ pageSize: 5, pageToken: token, filter: `labels.team = '${team}'` });
      seen.push(...page.clusters.map((c) => c.id));
      totals.push(page.totalSize);
      token = page.nextPageToken;
      if (seen.length === 5) await create({ team });
    } while (token !== "");
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(13);
    // Counted on the first page only (before the 13th was created); later pages do not count again.
    expect(totals).toEqual([12n, 0n, 0n]);
  });

  test("list filters by labels, phase and generation ahead of observed_generation", async () => {
    const shard = uniqueName("shard");
    const a = await create({ shard, env: "prod" });
    await create({ shard, env: "dev" });
    const prod = await api.clusters.listClusters({ filter: `labels.shard='${shard}' and labels.env = 'prod' and status.phase = 'NotReady'` });
    expect(prod.clusters.map((c) => c.id)).toEqual([a.id]);
    const ahead = await api.clusters.listClusters({ filter: `labels.shard='${shard}' and generation > status.observed_generation` });
    expect(ahead.totalSize).toBe(2n);
  });

  test("a bad filter is InvalidArgument on field filter, pointing at the problem", async () => {
    const err = await rejection(api.clusters.listClusters({ filter: "status.phase = 'Done'" }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.findDetails(BadRequestSchema)[0].fieldViolations[0]).toMatchObject({ field: "filter" });
    expect(err.rawMessage).toMatch(/expected a phase .* at position 15/);
  });

  test("HTTP/1.1 Connect JSON works for plain curl users", async () => {
    const res = await fetch(`${api.baseUrl}/hyperfleet.v1.ClusterService/CreateCluster`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: uniqueName("curl"), spec: {} }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ generation: "1", kind: "Cluster" });
  });
});

describe("StatusService", () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

  test("a report is stored; the row keeps created_time and moves last_report_time", async () => {
    const c = await create();
    const r1 = await api.statuses.reportStatus(reportRequest({ resourceId: c.id, adapter: "validation", generation: 1, at: at(2), applied: "True", available: "False" }));
    expect([r1.stored, r1.outcome]).toEqual([true, ReportOutcome.CREATED]);
    const r2 = await api.statuses.reportStatus(reportRequest({ resourceId: c.id, adapter: "validation", generation: 1, at: at(12), applied: "True", available: "False" }));
    expect(r2.outcome).toBe(ReportOutcome.UPDATED);
    const [row] = (await api.statuses.listStatuses({ resourceId: c.id })).statuses;
    expect(timestampDate(row.createdTime!)).toEqual(at(2));
    expect(timestampDate(row.lastReportTime!)).toEqual(at(12));
  });

  test.each([
    ["generation ahead of the resource", 2, 30, "True", ReportOutcome.DISCARDED_GENERATION_AHEAD],
    ["older observed_time at the same generation", 1, 5, "True", ReportOutcome.DISCARDED_STALE],
    ["Available=Unknown over an existing row", 1, 30, "Unknown", ReportOutcome.DISCARDED_AVAILABLE_UNKNOWN],
  ] as const)("discarded silently: %s", async (_name, generation, second, available, outcome) => {
    const c = await create();
    await api.statuses.reportStatus(reportRequest({ resourceId: c.id, adapter: "dns", generation: 1, at: at(10), applied: "True", available: "True" }));
    const r = await api.statuses.reportStatus(reportRequest({ resourceId: c.id, adapter: "dns", generation, at: at(second), applied: "True", available }));
    expect([r.stored, r.outcome]).toEqual([false, outcome]);
    const [row] = (await api.statuses.listStatuses({ resourceId: c.id })).statuses;
    expect(timestampDate(row.lastReportTime!)).toEqual(at(10));
    expect(conditionWord(row.conditions, "Available")).toBe("True");
  });

  test("the FULL view returns the resource with every status row, equal to ListStatuses; BASIC and unspecified have none", async () => {
    const c = await create();
    for (const adapter of ["validation", "dns"]) {
      await api.statuses.reportStatus(reportRequest({ resourceId: c.id, adapter, generation: 1, at: at(5), applied: "True", available: "True", data: { dns: "a.example" } }));
    }
    const full = await api.clusters.getCluster({ id: c.id, view: ResourceView.FULL });
    const listed = (await api.statuses.listStatuses({ resourceId: c.id })).statuses;
    expect(full.adapterStatuses.map((s) => s.adapter)).toEqual(["dns", "validation"]);
    expect(full.adapterStatuses).toEqual(listed);
    expect(full.status).toEqual((await api.clusters.getCluster({ id: c.id })).status);
    expect((await api.clusters.getCluster({ id: c.id, view: ResourceView.BASIC })).adapterStatuses).toEqual([]);
    expect((await api.clusters.getCluster({ id: c.id })).adapterStatuses).toEqual([]);
    const fresh = await create();
    expect((await api.clusters.getCluster({ id: fresh.id, view: ResourceView.FULL })).adapterStatuses).toEqual([]);
  });

  test("an unknown view is InvalidArgument on field view; a FULL read of an unknown id is NotFound", async () => {
    const c = await create();
    const err = await rejection(api.clusters.getCluster({ id: c.id, view: 7 as ResourceView }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("view");
    expect((await rejection(api.clusters.getCluster({ id: "0190aaaa-0000-7000-8000-000000000000", view: ResourceView.FULL }))).code).toBe(Code.NotFound);
  });

  test("an invalid report is InvalidArgument naming the field, and nothing is stored", async () => {
    const c = await create();
    const req = reportRequest({ resourceId: c.id, adapter: "dns", generation: 1, at: at(1), applied: "True", available: "True" });
    req.conditions = req.conditions.filter((x) => x.type !== "Health");
    const err = await rejection(api.statuses.reportStatus(req));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("missing mandatory condition Health");
    expect((await api.statuses.listStatuses({ resourceId: c.id })).statuses).toHaveLength(0);
  });

  test("a report for an unknown resource is NotFound", async () => {
    const req = reportRequest({ resourceId: "0190aaaa-0000-7000-8000-000000000000", adapter: "dns", generation: 1, at: at(1), applied: "True", available: "True" });
    expect((await rejection(api.statuses.reportStatus(req))).code).toBe(Code.NotFound);
  });

  test("concurrent reports never lose an update or move a row backwards", async () => {
    const c = await api.clusters.createCluster({ name: uniqueName("race"), spec: {} });
    await api.clusters.updateCluster({ id: c.id, spec: { v: 2 } });
    const adapters = ["validation", "dns", "placement"];
    // 3 adapters × 40 reports, shuffled, fired at once: generations 1-2, observed times 1..40 s.
    const reqs = adapters.flatMap((adapter) =>
      Array.from({ length: 40 }, (_, i) =>
        reportRequest({ resourceId: c.id, adapter, generation: i < 20 ? 1 : 2, at: at(i + 1), applied: "True", available: i === 39 ? "True" : "False" }),
      ),
    );
    reqs.sort(() => Math.random() - 0.5);
    await Promise.all(reqs.map((r) => api.statuses.reportStatus(r)));
    const rows = (await api.statuses.listStatuses({ resourceId: c.id })).statuses;
    expect(rows.map((r) => [r.adapter, r.observedGeneration, timestampDate(r.lastReportTime!).getTime(), conditionWord(r.conditions, "Available")])).toEqual(
      adapters.sort().map((a) => [a, 2n, at(40).getTime(), "True"]),
    );
    const cluster = await api.clusters.getCluster({ id: c.id });
    expect(cluster.status?.phase).toBe(Phase.READY);
    expect(cluster.status?.observedGeneration).toBe(2n);
  });

  test("reports are counted by outcome in Prometheus metrics", async () => {
    const text = await api.metricsText();
    expect(text).toMatch(/hyperfleet_api_status_reports_total\{outcome="Created"\} [1-9]/);
    expect(text).toMatch(/hyperfleet_api_rpc_requests_total\{method="hyperfleet.v1.ClusterService\/CreateCluster",code="ok"\} [1-9]/);
    expect(text).toMatch(/hyperfleet_api_rpc_duration_seconds_count\{method="hyperfleet.v1.StatusService\/ReportStatus"\} [1-9]/);
  });
});

describe("hostile input is a short InvalidArgument naming the field, and the server keeps serving (limits.ts)", () => {
  const grpcClusters = () => createClient(ClusterService, api.grpc);
  const nested = (depth: number) => {
    let v: Record<string, unknown> = { x: 1 };
    for (let i = 1; i < depth; i++) v = { a: v };
    return v;
  };
  const violationsOf = (err: ConnectError) => err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations);

  test("Regression guard: tens of thousands of invalid label keys ran the API out of heap; now one violation", async () => {
    const labels = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`-bad-${i}`, "v"]));
    const err = await rejection(grpcClusters().createCluster({ name: uniqueName(), labels, spec: {} }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(violationsOf(err).map((v) => v.field)).toEqual(["labels"]);
    expect(err.rawMessage.length).toBeLessThan(200);
    expect((await create()).generation).toBe(1n);
  });

  test("Regression guard: a spec 60 levels deep (accepted by Connect JSON) broke the Sentinel's polls; now InvalidArgument on spec", async () => {
    const res = await fetch(`${api.baseUrl}/hyperfleet.v1.ClusterService/CreateCluster`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: uniqueName("deep"), spec: nested(60) }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "invalid_argument", message: "spec: must be nested at most 32 levels deep" });
  });

  test("a spec 33 levels deep over gRPC is InvalidArgument on spec; 32 is stored", async () => {
    const err = await rejection(grpcClusters().createCluster({ name: uniqueName(), spec: nested(33) as never }));
    expect(violationsOf(err).map((v) => v.field)).toEqual(["spec"]);
    const ok = await grpcClusters().createCluster({ name: uniqueName(), spec: nested(32) as never });
    expect((await grpcClusters().getCluster({ id: ok.id })).spec).toEqual(nested(32));
  });

  test.each([
    ["Regression guard: NUL was Internal", "name = 'a\u0000b'"],
    ["Regression guard: a prototype property as a field was Internal", "constructor = 1"],
    ["__proto__ as a field", "__proto__ = 1"],
    ["a prototype property as a phase", "status.phase = 'constructor'"],
  ])("a bad filter is InvalidArgument on filter: %s", async (_name, filter) => {
    const err = await rejection(grpcClusters().listClusters({ filter }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(violationsOf(err).map((v) => v.field)).toEqual(["filter"]);
  });

  test("Regression guard: ~150 violations over gRPC were a 'stream reset'; now 20 and 'and N more' arrive", async () => {
    const c = await create();
    const req = reportRequest({ resourceId: c.id, adapter: "dns", generation: 1, at: new Date(), applied: "True", available: "True" });
    req.conditions = Array.from({ length: 16 }, (_, i) => ({ ...req.conditions[0], type: `C${i}`, status: 0, reason: "r".repeat(257), message: "m".repeat(4097) }));
    const err = await rejection(api.statuses.reportStatus(req));
    expect(err.code).toBe(Code.InvalidArgument);
    const v = violationsOf(err);
    expect(v).toHaveLength(21);
    expect(v[20]).toMatchObject({ field: "", description: "and 31 more", reason: "TRUNCATED" });
    expect(err.rawMessage).toMatch(/; and 31 more$/);
  });

  test("Regression guard: an observed_time 290 s ahead made later genuine reports DISCARDED_STALE; now it is stored as the server's clock", async () => {
    const c = await create();
    const ahead = await api.statuses.reportStatus(reportRequest({ resourceId: c.id, adapter: "dns", generation: 1, at: new Date(Date.now() + 290_000), applied: "True", available: "False" }));
    expect(ahead.stored).toBe(true);
    expect(timestampDate(ahead.status!.lastReportTime!).getTime()).toBeLessThanOrEqual(Date.now());
    const genuine = await api.statuses.reportStatus(reportRequest({ resourceId: c.id, adapter: "dns", generation: 1, at: new Date(), applied: "True", available: "True" }));
    expect([genuine.stored, genuine.outcome]).toEqual([true, ReportOutcome.UPDATED]);
    const tooFar = await rejection(api.statuses.reportStatus(reportRequest({ resourceId: c.id, adapter: "dns", generation: 1, at: new Date(Date.now() + 301_000), applied: "True", available: "True" })));
    expect(violationsOf(tooFar).map((v) => v.field)).toEqual(["observed_time"]);
  });
});
