/**
 * A Python client generated from proto/ with Debian's python3-grpc-tools talks to the API over gRPC,
 * with authentication on (issue 18): the token travels in call metadata, and a call without it is
 * UNAUTHENTICATED. client.py takes an optional CA file for TLS (the hook for a TLS-serving API).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { startApi, type TestApi } from "../support/start-api.js";

const run = promisify(execFile);
const PYTHON = "/usr/bin/python3";
const GRPC_TOOLS_PROTO = "/usr/lib/python3/dist-packages/grpc_tools/_proto";
const available = existsSync(PYTHON) && existsSync(GRPC_TOOLS_PROTO);
// CI installs python3-grpc-tools (.ci/run); a developer machine without it skips with a reason.
const maybe = available || process.env.CI ? test : test.skip;
if (!available && !process.env.CI) console.warn("skipping the Python client test: apt-get install python3-grpcio python3-grpc-tools");

let api: TestApi;
let out: string;
beforeAll(async () => {
  api = await startApi({ auth: true });
  out = mkdtempSync(join(tmpdir(), "hf-py-"));
});
afterAll(async () => {
  await api.close();
  rmSync(out, { recursive: true, force: true });
});

maybe("generated Python stubs with the token in metadata create a cluster (created_by is the token's identity), report a status and see AlreadyExists; without it, UNAUTHENTICATED", async () => {
  const protos = readdirSync("proto/hyperfleet/v1").map((f) => join("hyperfleet/v1", f));
  await run(PYTHON, ["-m", "grpc_tools.protoc", "-I", "proto", "-I", GRPC_TOOLS_PROTO, `--python_out=${out}`, `--grpc_python_out=${out}`, ...protos], { timeout: 30_000 });
  const token = await api.issuer!.token("test:operator");
  // The token in the environment (not argv, where any process list shows it); nothing else of ours leaks in.
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HF_TOKEN: token };
  const { stdout } = await run(PYTHON, [relative(process.cwd(), "test/wire/python/client.py"), `127.0.0.1:${api.port}`, out], { timeout: 30_000, env });
  expect(JSON.parse(stdout)).toMatchObject({
    generation: 1,
    region: "eu-west-1",
    created_by: "test:operator",
    stored: true,
    outcome: "REPORT_OUTCOME_CREATED",
    duplicate: "ALREADY_EXISTS",
    anonymous: { code: "UNAUTHENTICATED", details: "authentication required" },
  });

  // Without a token at all, the first call already fails: Python sees UNAUTHENTICATED as an RpcError.
  const anonymous = await run(PYTHON, [relative(process.cwd(), "test/wire/python/client.py"), `127.0.0.1:${api.port}`, out], { timeout: 30_000, env: { PATH: env.PATH } }).catch((e: { code: number; stderr: string }) => e);
  expect("code" in anonymous && anonymous.code).toBe(1);
  expect((anonymous as { stderr: string }).stderr).toMatch(/StatusCode\.UNAUTHENTICATED[\s\S]*authentication required/);
});

maybe("over TLS: the same client on a secure channel that trusts the API's CA, the token in metadata", async () => {
  const secure = await startApi({ auth: true, tls: true });
  try {
    const protos = readdirSync("proto/hyperfleet/v1").map((f) => join("hyperfleet/v1", f));
    await run(PYTHON, ["-m", "grpc_tools.protoc", "-I", "proto", "-I", GRPC_TOOLS_PROTO, `--python_out=${out}`, `--grpc_python_out=${out}`, ...protos], { timeout: 30_000 });
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HF_TOKEN: await secure.issuer!.token("test:operator") };
    const { stdout } = await run(PYTHON, [relative(process.cwd(), "test/wire/python/client.py"), `127.0.0.1:${secure.port}`, out, secure.caFile!], { timeout: 30_000, env });
    expect(JSON.parse(stdout)).toMatchObject({ generation: 1, created_by: "test:operator", stored: true, outcome: "REPORT_OUTCOME_CREATED" });
    // A channel that does not trust the CA fails the handshake: UNAVAILABLE, never a call in the clear.
    const untrusted = await run(PYTHON, [relative(process.cwd(), "test/wire/python/client.py"), `127.0.0.1:${secure.port}`, out, api.caFile ?? "/etc/ssl/certs/ca-certificates.crt"], { timeout: 30_000, env }).catch((e: { code: number; stderr: string }) => e);
    expect((untrusted as { stderr: string }).stderr).toMatch(/StatusCode\.UNAVAILABLE/);
  } finally {
    await secure.close();
  }
});
