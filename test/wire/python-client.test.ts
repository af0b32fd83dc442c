/**
 * A Python client generated from all of proto/ with Debian's python3-grpc-tools (generate.py) talks to
 * the API over gRPC, with authentication on (issue 18): the token travels in call metadata, and a call
 * without it is UNAUTHENTICATED. Health is imported as a user imports it, `from grpc_health.v1 import
 * health_pb2` beside grpcio's own `grpc`, and checked without a token (issue 19). client.py takes an
 * optional CA file for TLS (the hook for a TLS-serving API).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { startApi, type TestApi } from "../support/start-api.js";
import { PYTHON, isMissing, requires } from "../support/requirements.js";

const run = promisify(execFile);
// CI installs python3-grpc-tools (.ci/run); a machine without it skips, and npm test says how to get it.
const maybe = requires("python-grpc");

const CLIENT = relative(process.cwd(), "test/wire/python/client.py");
let api: TestApi;
let out: string;
beforeAll(async () => {
  api = await startApi({ auth: true });
  out = mkdtempSync(join(tmpdir(), "hf-py-"));
  // Every file of proto/, as a user generates them (docs/running.md, "A Python client").
  if (!isMissing("python-grpc")) await run(PYTHON, ["test/wire/python/generate.py", out, "proto"], { timeout: 60_000 });
}, 90_000);
afterAll(async () => {
  await api.close();
  rmSync(out, { recursive: true, force: true });
});

maybe("generate.py covers every file of proto/, the gRPC ones as grpc_<name> packages beside grpcio's grpc", () => {
  const protos = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? protos(join(dir, e.name)) : e.name.endsWith(".proto") ? [join(dir, e.name)] : []));
  const expected = protos("proto").map((f) => relative("proto", f).replace(/^grpc\/([^/]+)\//, "grpc_$1/").replace(/\.proto$/, "_pb2.py"));
  expect(expected).toEqual(expect.arrayContaining(["grpc_health/v1/health_pb2.py", "grpc_reflection/v1alpha/reflection_pb2.py", "google/rpc/error_details_pb2.py", "hyperfleet/v1/cluster_pb2.py"]));
  for (const file of expected) expect([file, existsSync(join(out, file))]).toEqual([file, true]);
  // Nothing lands in a grpc/ of ours, which `import grpc` (grpcio) would never let Python see.
  expect(existsSync(join(out, "grpc"))).toBe(false);
});

maybe("the layout that broke (issue 19): grpc/health/v1 generated as is cannot be imported beside grpcio", async () => {
  const plain = mkdtempSync(join(tmpdir(), "hf-py-plain-"));
  try {
    await run(PYTHON, ["-m", "grpc_tools.protoc", "-I", "proto", `--python_out=${plain}`, `--grpc_python_out=${plain}`, "grpc/health/v1/health.proto"], { timeout: 30_000 });
    expect(existsSync(join(plain, "grpc/health/v1/health_pb2.py"))).toBe(true);
    const failed = await run(PYTHON, ["-c", `import sys; sys.path.insert(0, ${JSON.stringify(plain)}); import grpc; from grpc.health.v1 import health_pb2`], { timeout: 30_000 }).then(() => undefined, (e: { stderr: string }) => e);
    expect(failed?.stderr).toMatch(/ModuleNotFoundError: No module named 'grpc\.health'/);
  } finally {
    rmSync(plain, { recursive: true, force: true });
  }
});

maybe("generated Python stubs: health without a token; with the token in metadata create a cluster (created_by is the token's identity), report a status and see AlreadyExists; without it, UNAUTHENTICATED", async () => {
  const token = await api.issuer!.token("test:operator");
  // The token in the environment (not argv, where any process list shows it); nothing else of ours leaks in.
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HF_TOKEN: token };
  const { stdout } = await run(PYTHON, [CLIENT, `127.0.0.1:${api.port}`, out], { timeout: 30_000, env });
  const seen = JSON.parse(stdout);
  // grpc is grpcio's, health_pb2 ours: both imported in one process.
  expect(seen.grpc_module).toMatch(/dist-packages\/grpc\/__init__\.py$/);
  expect(seen.health_module).toBe(join(out, "grpc_health/v1/health_pb2.py"));
  expect(seen).toMatchObject({
    health: { "(server)": "SERVING", "hyperfleet.v1.ClusterService": "SERVING", "no.such.Service": "NOT_FOUND" },
    generation: 1,
    region: "eu-west-1",
    created_by: "test:operator",
    stored: true,
    outcome: "REPORT_OUTCOME_CREATED",
    duplicate: "ALREADY_EXISTS",
    anonymous: { code: "UNAUTHENTICATED", details: "authentication required" },
  });

  // Without a token at all, the first call already fails: Python sees UNAUTHENTICATED as an RpcError.
  const anonymous = await run(PYTHON, [CLIENT, `127.0.0.1:${api.port}`, out], { timeout: 30_000, env: { PATH: env.PATH } }).catch((e: { code: number; stderr: string }) => e);
  expect("code" in anonymous && anonymous.code).toBe(1);
  expect((anonymous as { stderr: string }).stderr).toMatch(/StatusCode\.UNAUTHENTICATED[\s\S]*authentication required/);
});

maybe("over TLS: the same client on a secure channel that trusts the API's CA, the token in metadata", async () => {
  const secure = await startApi({ auth: true, tls: true });
  try {
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HF_TOKEN: await secure.issuer!.token("test:operator") };
    const { stdout } = await run(PYTHON, [CLIENT, `127.0.0.1:${secure.port}`, out, secure.caFile!], { timeout: 30_000, env });
    expect(JSON.parse(stdout)).toMatchObject({ generation: 1, created_by: "test:operator", stored: true, outcome: "REPORT_OUTCOME_CREATED", health: { "(server)": "SERVING" } });
    // A channel that does not trust the CA fails the handshake: UNAVAILABLE, never a call in the clear.
    const untrusted = await run(PYTHON, [CLIENT, `127.0.0.1:${secure.port}`, out, api.caFile ?? "/etc/ssl/certs/ca-certificates.crt"], { timeout: 30_000, env }).catch((e: { code: number; stderr: string }) => e);
    expect((untrusted as { stderr: string }).stderr).toMatch(/StatusCode\.UNAVAILABLE/);
  } finally {
    await secure.close();
  }
});
