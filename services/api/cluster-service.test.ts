/**
 * ListClusters over the wire as a client sees it: the STATUS view, and pages that a client with the
 * usual 4 MiB receive limit can always read, even over clusters whose specs an older API let grow to
 * megabytes (a single ListClusters of 20 such clusters once took the API down).
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { ResourceView } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { startApi, type TestApi } from "../../test/support/start-api.js";

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

let seq = 0;
const create = (group: string) => api.clusters.createCluster({ name: `wire-${group}-${++seq}`, labels: { group }, spec: { region: "eu" } });
/** What an older API accepted: a spec of `bytes` bytes, written straight to the row (today's input limits refuse it). */
const growSpec = (id: string, bytes: number) => api.db("clusters").where({ id }).update({ spec: JSON.stringify({ blob: "x".repeat(bytes) }) });

test("view STATUS lists without spec, labels or conditions; FULL is for gets only", async () => {
  const c = await create("view");
  const page = await api.clusters.listClusters({ filter: "labels.group = 'view'", view: ResourceView.STATUS });
  expect(page.clusters).toHaveLength(1);
  expect(page.clusters[0]).toMatchObject({ id: c.id, name: c.name, generation: 1n, labels: {} });
  expect(page.clusters[0].spec).toBeUndefined();
  expect(page.clusters[0].status?.conditions).toEqual([]);
  expect(page.clusters[0].status?.lastUpdatedTime).toEqual(c.status?.lastUpdatedTime);
  expect((await api.clusters.getCluster({ id: c.id, view: ResourceView.STATUS })).spec).toBeUndefined();
  expect((await api.clusters.listClusters({ filter: "labels.group = 'view'" })).clusters[0].spec).toEqual({ region: "eu" });

  const err = ConnectError.from(await api.clusters.listClusters({ view: ResourceView.FULL }).catch((e: unknown) => e));
  expect(err.code).toBe(Code.InvalidArgument);
  expect(err.findDetails(BadRequestSchema)[0].fieldViolations[0]).toMatchObject({ field: "view" });
});

test("clusters with 2.8 MB specs: every page fits a 4 MiB client, the listing reaches them all, and total_size is counted once", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const c = await create("huge");
    await growSpec(c.id, 2_800_000);
    ids.push(c.id);
  }
  for (let i = 0; i < 3; i++) ids.push((await create("huge")).id);
  // grpc-js and connect clients refuse a message over 4 MiB by default; one page of these was 14 MB.
  const client = createClient(ClusterService, createGrpcTransport({ baseUrl: api.baseUrl, readMaxBytes: 4 * 1024 * 1024 }));
  const seen: string[] = [];
  const totals: bigint[] = [];
  let pageToken = "";
  do {
    const page = await client.listClusters({ filter: "labels.group = 'huge'", pageSize: 1000, pageToken });
    seen.push(...page.clusters.map((c) => c.id));
    totals.push(page.totalSize);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  expect(seen).toEqual(ids);
  expect(totals.length).toBeGreaterThanOrEqual(5);
  expect(totals).toEqual([8n, ...totals.slice(1).map(() => 0n)]);
  // The STATUS view reads none of it: one page.
  const status = await client.listClusters({ filter: "labels.group = 'huge'", pageSize: 1000, view: ResourceView.STATUS });
  expect(status.clusters.map((c) => c.id)).toEqual(ids);
  expect(status.nextPageToken).toBe("");
});
