/**
 * hf's credentials flags, `hf token` and the hints on refusals, through run() as main.ts calls it.
 * The refusals come from a real server on loopback with the API's JWT authentication and tokens from
 * a local issuer, so the header hf sends is the one the API checks.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { createJwtAuth, principalOf } from "../shared/auth/interceptor.js";
import type { Role } from "../shared/auth/roles.js";
import { openLocalIssuer, type LocalIssuer } from "../shared/auth/tokens.js";
import { createTokenVerifier } from "../shared/auth/verify.js";
import { createRpcServer, type RpcServer } from "../shared/rpc/serve.js";
import { saveCredentials } from "./credentials.js";
import { run } from "./run.js";

let dir: string;
let issuer: LocalIssuer;
let server: RpcServer;
let api: string;
/** The identities whose calls reached a handler. */
const callers: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hf-run-"));
  issuer = await openLocalIssuer(join(dir, "issuer"));
  const auth = createJwtAuth({
    verifier: createTokenVerifier([issuer.config()]),
    bindings: { identities: new Map<string, Role[]>([["alice", ["user"]], ["rita", ["reader"]]]), claims: new Map() },
  });
  server = createRpcServer({
    services: [ClusterService],
    interceptors: [auth.interceptor],
    requestGate: auth.requestGate,
    routes: (router) =>
      router.service(ClusterService, {
        listClusters: (_req, ctx) => (callers.push(principalOf(ctx.values)?.identity ?? "?"), { clusters: [], nextPageToken: "" }),
        createCluster: (req) => ({ id: "c1", name: req.name }),
      }),
  });
  api = `http://127.0.0.1:${await server.listen(0, "127.0.0.1")}`;
});
afterAll(async () => {
  await server?.close(100);
  rmSync(dir, { recursive: true, force: true });
});

/** Runs hf with only `env` (HOME inside the test's directory, so no real credentials are found). */
async function hf(args: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, { HOME: join(dir, "home"), ...env }, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

describe("hf token: the token hf would send, for buf curl and curl", () => {
  test.each<[string, string[], Record<string, string>, string]>([
    ["--token", ["--token", "from-flag"], { HF_TOKEN: "from-env" }, "from-flag"],
    ["--token=", ["--token=from-flag"], {}, "from-flag"],
    ["HF_TOKEN", [], { HF_TOKEN: "from-env" }, "from-env"],
    ["--token-file", ["--token-file", "@tokenfile"], {}, "from-file"],
    ["HF_TOKEN_FILE", [], { HF_TOKEN_FILE: "@tokenfile" }, "from-file"],
  ])("%s", async (_rule, flags, env, expected) => {
    const tokenFile = file("flag.token", "from-file\n");
    const sub = (s: string) => (s === "@tokenfile" ? tokenFile : s);
    const r = await hf([...flags.map(sub), "token"], Object.fromEntries(Object.entries(env).map(([k, v]) => [k, sub(v)])));
    expect(r).toEqual({ code: 0, stdout: expected, stderr: "" });
  });

  test("from the credentials file's entry for --api (HF_CREDENTIALS), whatever the spelling of the URL", async () => {
    const creds = join(dir, "creds", "token-test.json");
    saveCredentials(creds, "http://127.0.0.1:8000", { tokenFile: file("entry.token", "from-entry\n") });
    expect(await hf(["token", "--api", "HTTP://127.0.0.1:8000/"], { HF_CREDENTIALS: creds })).toEqual({ code: 0, stdout: "from-entry", stderr: "" });
    expect(await hf(["token"], { HF_CREDENTIALS: creds, HF_API_URL: "http://127.0.0.1:9000" })).toMatchObject({ code: 1, stdout: "" });
  });

  test("none: exit 1, saying where credentials would be", async () => {
    const r = await hf(["token"]);
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: `hf: no token for http://127.0.0.1:8000: run npm start, which writes credentials to ${join(dir, "home", ".hyperfleet", "credentials.json")}, or pass --token / HF_TOKEN / --token-file`,
    });
  });

  test("arguments: a usage error", async () => {
    expect(await hf(["token", "extra"], { HF_TOKEN: "t" })).toMatchObject({ code: 2, stdout: "", stderr: expect.stringMatching(/^hf token: takes no arguments\n\nusage:/) });
  });
});

describe("credentials problems: exit 1 naming the file and the problem, no stack, no token", () => {
  test.each<[string, string[], () => Record<string, string>, RegExp]>([
    ["a malformed credentials file", ["cluster", "list"], () => ({ HF_CREDENTIALS: file("bad.json", '{"version":1,"servers":{"http://x":{"token":"s3cret",}}}') }), /^hf: .*bad\.json: not valid JSON \(at position \d+/],
    ["a missing --token-file", ["--token-file", "/nonexistent/user.token", "cluster", "list"], () => ({}), /^hf: --token-file \/nonexistent\/user\.token: cannot read the token file \(ENOENT\)$/],
    ["an unreadable --ca for https", ["--api", "https://api.example", "--token", "s3cret", "--ca", "/nonexistent/ca.crt", "cluster", "list"], () => ({}), /^hf: CA file \/nonexistent\/ca\.crt \(from --ca\): cannot read \(ENOENT\)$/],
  ])("%s", async (_rule, args, env, message) => {
    const r = await hf(args, env());
    expect(r).toMatchObject({ code: 1, stdout: "" });
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain("s3cret");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test("help and usage errors do not read credentials", async () => {
    const env = { HF_CREDENTIALS: file("bad2.json", "{") };
    expect(await hf(["help"], env)).toMatchObject({ code: 0 });
    expect(await hf(["frob"], env)).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command "frob"/) });
  });

  test("an --api that is not an http(s) URL is a usage error", async () => {
    expect(await hf(["--api", "127.0.0.1:8000", "cluster", "list"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^hf: --api \/ HF_API_URL "127\.0\.0\.1:8000": expected an http:\/\/ or https:\/\/ URL/) });
  });

  test("usage lists the credentials flags and their variables", async () => {
    const { stdout } = await hf(["--help"]);
    for (const s of ["--token TOKEN", "HF_TOKEN", "--token-file PATH", "HF_TOKEN_FILE", "--ca PATH", "HF_CA", "HF_CREDENTIALS", "hf token"]) expect(stdout).toContain(s);
  });
});

describe("against an API that requires a bearer JWT", () => {
  test("the token goes in the authorization header, from a flag, the environment or the credentials file", async () => {
    const alice = await issuer.issue({ sub: "alice" });
    callers.length = 0;
    expect(await hf(["--api", api, "--token", alice, "cluster", "list", "-o", "json"])).toEqual({ code: 0, stdout: "[]", stderr: "" });
    expect(await hf(["cluster", "list", "-o", "json"], { HF_API_URL: api, HF_TOKEN: alice })).toMatchObject({ code: 0 });
    const creds = join(dir, "creds", "server-test.json");
    saveCredentials(creds, `${api}/`, { tokenFile: file("alice.token", `${alice}\n`) });
    expect(await hf(["cluster", "list", "-o", "json"], { HF_API_URL: api, HF_CREDENTIALS: creds })).toMatchObject({ code: 0 });
    expect(callers).toEqual(["alice", "alice", "alice"]);
  });

  test("no token: Unauthenticated, exit 1, with where credentials come from", async () => {
    const r = await hf(["cluster", "list"], { HF_API_URL: `${api}/` });
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: `hf: Unauthenticated: authentication required (no credentials for ${api}: run npm start, which writes them to ${join(dir, "home", ".hyperfleet", "credentials.json")}, or pass --token / HF_TOKEN)`,
    });
  });

  test("a refused token (expired): Unauthenticated, exit 1, saying it was refused and where it came from", async () => {
    const expired = await issuer.issue({ sub: "alice", ttlSeconds: -120 });
    const r = await hf(["cluster", "list"], { HF_API_URL: api, HF_TOKEN_FILE: file("expired.token", expired) });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`hf: Unauthenticated: invalid credentials (the token was refused: it may have expired; npm start renews ~/.hyperfleet credentials; this one came from HF_TOKEN_FILE=${join(dir, "expired.token")})`);
    expect(r.stderr).not.toContain(expired);
  });

  test("a token whose identity lacks the role: PermissionDenied, exit 1, naming the identity", async () => {
    const rita = await issuer.issue({ sub: "rita" });
    const r = await hf(["cluster", "create", "cls-1"], { HF_API_URL: api, HF_TOKEN: rita });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hf: PermissionDenied: permission denied for hyperfleet\.v1\.ClusterService\/CreateCluster \(the identity "rita" lacks the role this call needs; its token came from HF_TOKEN: /);
    expect(await hf(["cluster", "create", "cls-1", "-o", "json"], { HF_API_URL: api, HF_TOKEN: await issuer.issue({ sub: "alice" }) })).toMatchObject({ code: 0 });
  });
});
