import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ClusterService } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { StatusService } from "../../../gen/hyperfleet/v1/status_pb.js";
import { startApi, type TestApi } from "../../../test/support/start-api.js";

let api: TestApi;
beforeAll(async () => {
  api = await startApi({ auth: true });
});
afterAll(() => api?.close());

const codeOf = (p: Promise<unknown>) => p.then(() => Code[0], (e: unknown) => Code[ConnectError.from(e).code]);
const refusals = async () => Object.fromEntries([...(await api.metricsText()).matchAll(/^hyperfleet_api_auth_refusals_total\{code="(\w+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]));

test("refusals are counted by code, in the gate and in the interceptor; a handler's own error is not a refusal", async () => {
  const as = async (identity?: string) => createClient(ClusterService, createGrpcTransport({ baseUrl: api.baseUrl, interceptors: identity ? await api.issuer!.credentials(identity) : [] }));
  expect(await codeOf((await as()).listClusters({}))).toBe("Unauthenticated");
  expect(await codeOf((await as("test:reader")).deleteCluster({ id: "01a24eec-0129-7333-a413-8b610f852c88" }))).toBe("PermissionDenied");
  // A reader may get; the cluster does not exist: NotFound comes from the handler, behind the interceptor.
  expect(await codeOf((await as("test:reader")).getCluster({ id: "01a24eec-0129-7333-a413-8b610f852c88" }))).toBe("NotFound");
  // Only the message says whose report it is: refused by the interceptor, after the gate let it through.
  const dns = createClient(StatusService, createGrpcTransport({ baseUrl: api.baseUrl, interceptors: await api.issuer!.credentials("test:adapter-dns") }));
  expect(await codeOf(dns.reportStatus({ resourceId: "01a24eec-0129-7333-a413-8b610f852c88", adapter: "validation", observedGeneration: 1n }))).toBe("PermissionDenied");
  expect(await refusals()).toEqual({ unauthenticated: 1, permission_denied: 2 });
});
