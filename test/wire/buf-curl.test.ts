/** Reflection as users meet it: `buf curl` with no proto file at hand, over gRPC, gRPC-Web and Connect. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { startApi, type TestApi } from "../support/start-api.js";

const run = promisify(execFile);
const BUF = join(process.cwd(), "node_modules", ".bin", "buf");
let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const curl = (...args: string[]) => run(BUF, ["curl", "--http2-prior-knowledge", ...args], { timeout: 20_000 }).then((r) => r.stdout);

test("--list-services lists the API, health and reflection (v1 and v1alpha)", async () => {
  const out = await curl("--protocol", "grpc", "--list-services", api.baseUrl);
  expect(out.trim().split("\n").sort()).toEqual([
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "hyperfleet.v1.ClusterService",
    "hyperfleet.v1.NodePoolService",
    "hyperfleet.v1.StatusService",
  ]);
});

test.each(["grpc", "grpcweb", "connect"])("methods are callable through reflection over %s", async (protocol) => {
  const created = JSON.parse(
    await curl("--protocol", protocol, "-d", JSON.stringify({ name: `curl-${protocol}`, spec: { a: 1 } }), `${api.baseUrl}/hyperfleet.v1.ClusterService/CreateCluster`),
  );
  expect(created).toMatchObject({ name: `curl-${protocol}`, generation: "1", status: { phase: "PHASE_NOT_READY" } });
  const listed = JSON.parse(await curl("--protocol", protocol, "-d", JSON.stringify({ resourceId: created.id }), `${api.baseUrl}/hyperfleet.v1.StatusService/ListStatuses`));
  expect(listed).toEqual({});
});

test("--list-methods lists every method from reflection", async () => {
  const out = await curl("--protocol", "grpc", "--list-methods", api.baseUrl);
  expect(out.trim().split("\n")).toEqual(expect.arrayContaining(["hyperfleet.v1.StatusService/ListStatuses", "hyperfleet.v1.StatusService/ReportStatus", "hyperfleet.v1.ClusterService/ListClusters"]));
});
