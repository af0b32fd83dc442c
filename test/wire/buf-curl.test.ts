/**
 * Reflection as users meet it: `buf curl` with no proto file at hand, over gRPC, gRPC-Web and Connect,
 * against an API that authenticates (issue 18). The recipe (docs: hf token for buf curl): the token in
 * `-H "authorization: Bearer $TOKEN"` for the call and, since reflection needs an identity too, in
 * `--reflect-header "authorization: Bearer $TOKEN"` (or `--reflect-header '*'`, which repeats every -H).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApi, type TestApi } from "../support/start-api.js";

const BUF = join(process.cwd(), "node_modules", ".bin", "buf");
let api: TestApi;
/** `authorization: Bearer <operator's token>`. */
let auth: string;
beforeAll(async () => {
  api = await startApi({ auth: true });
  auth = `authorization: Bearer ${await api.issuer!.token("test:operator")}`;
});
afterAll(() => api.close());

/** buf curl with `args`; resolves with its exit code and output (it exits non-zero on an RPC error). */
function bufCurl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // HOME elsewhere: no ~/.netrc of the developer's can supply an Authorization header.
    execFile(BUF, ["curl", "--http2-prior-knowledge", ...args], { timeout: 20_000, env: { ...process.env, HOME: "/nonexistent" } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
/** The recipe: the token on the call and on reflection. Fails the test on a non-zero exit. */
async function curl(...args: string[]): Promise<string> {
  const r = await bufCurl("-H", auth, "--reflect-header", auth, ...args);
  if (r.code !== 0) throw new Error(`buf curl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

test("--list-services (with --reflect-header) lists the API, health and reflection (v1 and v1alpha)", async () => {
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
  expect(created).toMatchObject({ name: `curl-${protocol}`, generation: "1", status: { phase: "PHASE_NOT_READY" }, createdBy: "test:operator" });
  const listed = JSON.parse(await curl("--protocol", protocol, "-d", JSON.stringify({ resourceId: created.id }), `${api.baseUrl}/hyperfleet.v1.StatusService/ListStatuses`));
  expect(listed).toEqual({});
});

test("--list-methods lists every method from reflection", async () => {
  const out = await curl("--protocol", "grpc", "--list-methods", api.baseUrl);
  expect(out.trim().split("\n")).toEqual(expect.arrayContaining(["hyperfleet.v1.StatusService/ListStatuses", "hyperfleet.v1.StatusService/ReportStatus", "hyperfleet.v1.ClusterService/ListClusters"]));
});

test("--reflect-header '*' sends the -H headers to reflection as well", async () => {
  const r = await bufCurl("-H", auth, "--reflect-header", "*", "--protocol", "grpc", "-d", "{}", `${api.baseUrl}/hyperfleet.v1.ClusterService/ListClusters`);
  expect(r).toMatchObject({ code: 0, stderr: "" });
  expect(JSON.parse(r.stdout).clusters).toEqual(expect.arrayContaining([expect.objectContaining({ name: "curl-grpc" })]));
});

test("the documented recipe: AUTH from `hf token` (the credentials file npm start writes), then -H \"$AUTH\" --reflect-header '*'", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-buf-"));
  try {
    writeFileSync(join(dir, "user.token"), await api.issuer!.token("test:user"), { mode: 0o600 });
    writeFileSync(join(dir, "credentials.json"), JSON.stringify({ version: 1, servers: { [api.baseUrl]: { tokenFile: join(dir, "user.token") } } }), { mode: 0o600 });
    const script = `AUTH="authorization: Bearer $(node services/hf/bin.js token)" && "${BUF}" curl --http2-prior-knowledge -H "$AUTH" --reflect-header '*' -d '{"name":"curl-recipe","spec":{}}' "$HF_API_URL/hyperfleet.v1.ClusterService/CreateCluster"`;
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile("bash", ["-c", script], { timeout: 30_000, env: { PATH: process.env.PATH, HOME: "/nonexistent", HF_CREDENTIALS: join(dir, "credentials.json"), HF_API_URL: api.baseUrl } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
    expect(out).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(out.stdout)).toMatchObject({ name: "curl-recipe", createdBy: "test:user" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("without the header", () => {
  /**
   * buf curl words an Unauthenticated answer to its reflection request as if its own registry had
   * refused it ("you are not authenticated. Set the BUF_TOKEN environment variable..."): misleading,
   * the cure here is --reflect-header. -v shows what our server really said.
   */
  const BUF_REGISTRY_WORDING = /Failure: you are not authenticated\. Set the BUF_TOKEN/;

  test("reflection without an identity: the server answers Unauthenticated, which buf curl words as its own registry's login hint", async () => {
    const r = await bufCurl("-v", "--protocol", "grpc", "--list-services", api.baseUrl);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/Grpc-Status: 16/);
    expect(r.stderr).toMatch(/Grpc-Message: authentication required/);
    expect(r.stderr).toMatch(BUF_REGISTRY_WORDING);
  });

  test.each(["grpc", "grpcweb", "connect"])("over %s, reflection is unauthenticated: buf curl cannot even learn the schema", async (protocol) => {
    const listed = await bufCurl("--protocol", protocol, "--list-services", api.baseUrl);
    expect(listed.code).not.toBe(0);
    expect(listed.stderr).toMatch(BUF_REGISTRY_WORDING);
    // -H alone authenticates the call, not the reflection that comes first: buf curl then says the
    // service is not in the schema (the refused reflection shows only under -v).
    const call = await bufCurl("-v", "-H", auth, "--protocol", protocol, "-d", "{}", `${api.baseUrl}/hyperfleet.v1.ClusterService/ListClusters`);
    expect(call.code).not.toBe(0);
    expect(call.stderr).toMatch(/Failure: failed to find service named "hyperfleet\.v1\.ClusterService" in schema/);
    // gRPC's trailers are plain text under -v; Connect and gRPC-Web put the error in a (gzipped) body frame.
    if (protocol === "grpc") expect(call.stderr).toMatch(/Grpc-Message: authentication required/);
    expect(call.stdout).toBe("");
  });

  test("with reflection authenticated but no -H, the call itself is unauthenticated", async () => {
    const r = await bufCurl("--reflect-header", auth, "--protocol", "grpc", "-d", "{}", `${api.baseUrl}/hyperfleet.v1.ClusterService/ListClusters`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unauthenticated/);
    expect(r.stderr).toMatch(/authentication required/);
    expect(r.stdout).toBe("");
  });

  test("health stays open: Check needs no header (the schema comes from a reflection that has one)", async () => {
    const r = await bufCurl("--reflect-header", auth, "--protocol", "grpc", "-d", "{}", `${api.baseUrl}/grpc.health.v1.Health/Check`);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(r.stdout)).toEqual({ status: "SERVING" });
  });
});
