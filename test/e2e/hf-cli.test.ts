/**
 * The hf CLI end to end: the real CLI against a real API, as a user's shell would run it. It runs
 * compiled once (test/support/build-cli.ts) rather than through bin.js's tsx, whose cold start per
 * process made this file slow; one test still runs bin.js itself. The API authenticates (issue 18):
 * hf's token comes from HF_TOKEN (an operator's), and a test each covers --token, --token-file,
 * HF_TOKEN_FILE, a credentials file (HF_CREDENTIALS) and no credentials at all.
 */
import { execFile } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCli, type BuiltCli } from "../support/build-cli.js";
import { startApi, type TestApi } from "../support/start-api.js";

let api: TestApi;
let cli: BuiltCli;
let operatorToken: string;
/** Scratch files: token files, credentials files; NO_CREDENTIALS is a credentials path that does not exist. */
let dir: string;
let NO_CREDENTIALS: string;
beforeAll(async () => {
  [api, cli] = await Promise.all([startApi({ auth: true }), buildCli()]);
  operatorToken = await api.issuer!.token("test:operator");
  dir = mkdtempSync(join(tmpdir(), "hf-cli-creds-"));
  NO_CREDENTIALS = join(dir, "none.json");
});
afterAll(async () => {
  cli?.remove();
  await api?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * The environment hf runs in: the caller's, without any HF_* credentials it may have (a developer's
 * own HF_TOKEN or ~/.hyperfleet/credentials.json must not decide these tests), plus `extra`.
 */
function envWith(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", HF_CREDENTIALS: NO_CREDENTIALS };
  for (const k of ["HF_TOKEN", "HF_TOKEN_FILE", "HF_CA", "HF_API_URL"]) delete env[k];
  return { ...env, ...extra };
}

/** Runs `node <script> args` with `env`; resolves with its exit code and output. */
function exec(script: string, args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

/** hf as an operator: the token in HF_TOKEN. */
const hf = (...args: string[]) => exec(cli.path, args, envWith({ HF_API_URL: api.baseUrl, HF_TOKEN: operatorToken }));
/** hf with no credentials from anywhere unless `env` gives some. */
const hfWith = (env: Record<string, string>, ...args: string[]) => exec(cli.path, args, envWith({ HF_API_URL: api.baseUrl, ...env }));

test("bin.js (what npm run hf and the package's bin run) starts the same CLI", async () => {
  const r = await exec("services/hf/bin.js", ["cluster", "list", "-o", "json"], envWith({ HF_API_URL: api.baseUrl, HF_TOKEN: operatorToken }));
  expect(r).toMatchObject({ code: 0, stderr: "" });
  expect(JSON.parse(r.stdout)).toBeInstanceOf(Array);
});

test("create with labels and a spec file, then get / list / update / delete by name", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hf-"));
  writeFileSync(join(dir, "spec.json"), JSON.stringify({ region: "eu-west-1" }));
  const created = await hf("cluster", "create", "cli-one", "--label", "env=prod", "--spec", `@${join(dir, "spec.json")}`, "-o", "json");
  expect(created.code).toBe(0);
  const c = JSON.parse(created.stdout);
  expect(c).toMatchObject({ name: "cli-one", labels: { env: "prod" }, spec: { region: "eu-west-1" }, generation: "1" });

  const table = await hf("cluster", "list", "--filter", "labels.env = 'prod'");
  expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+GEN\s+OBSERVED\s+PHASE\s+LABELS\s+AGE$/);
  expect(table.stdout).toMatch(/cli-one\s+1\s+0\s+NotReady\s+env=prod/);

  const updated = JSON.parse((await hf("cluster", "update", "cli-one", "--spec", '{"region":"us"}', "-o", "json")).stdout);
  expect(updated.generation).toBe("2");
  expect(updated.labels).toEqual({ env: "prod" });

  const yaml = (await hf("cluster", "get", c.id, "-o", "yaml")).stdout;
  expect(yaml).toMatch(/^id: /m);
  expect(yaml).toMatch(/region: us/);

  const deleted = JSON.parse((await hf("cluster", "delete", "cli-one", "-o", "json")).stdout);
  expect(deleted.deletedTime).toBeDefined();
});

test("status report and status list: a manual adapter report shows in the table and in hf watch", async () => {
  await hf("cluster", "create", "cli-two");
  const reported = await hf("status", "report", "cli-two", "--adapter", "validation", "--generation", "1", "--applied", "True", "--available", "False", "--health", "True", "--reason", "JobRunning");
  expect(reported).toMatchObject({ code: 0, stdout: "stored\n" });
  const list = (await hf("status", "list", "cli-two")).stdout;
  expect(list).toMatch(/validation\s+1\s+True\s+False\s+True\s+JobRunning/);
  const watch = (await hf("watch", "--once", "--filter", "name = 'cli-two'")).stdout;
  expect(watch).toMatch(/NAME\s+GEN\s+PHASE\s+VALIDATION\s+AGE/);
  expect(watch).toMatch(/cli-two\s+1\s+NotReady\s+✗1/);
});

test.each([
  ["an unknown command", ["cluster", "frob"], 2, /unknown command "frob"[\s\S]*usage:/],
  ["a malformed label", ["cluster", "create", "x1x", "--label", "novalue"], 2, /--label "novalue": expected key=value/],
  ["a bad --spec", ["cluster", "create", "x1x", "--spec", "[1]"], 2, /--spec: must be a JSON object/],
  ["an unknown flag", ["cluster", "list", "--colour"], 2, /Unknown option '--colour'/],
  ["the server's validation error", ["cluster", "create", "X"], 1, /^hf: InvalidArgument: name: must be 3-53 characters long/],
  ["a cluster that does not exist", ["cluster", "get", "no-such-cluster"], 1, /NotFound: cluster "no-such-cluster" not found/],
])("%s → exit %s with a message", async (_name, args, code, message) => {
  const r = await hf(...(args as string[]));
  expect(r.code).toBe(code);
  expect(r.stderr).toMatch(message);
});

test("an unreachable API → exit 1 with a hint", async () => {
  const r = await exec(cli.path, ["--api", "http://127.0.0.1:1", "cluster", "list"], { HF_CREDENTIALS: NO_CREDENTIALS });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/Unavailable: .*is the API running/);
});

test("nodepools: create under a cluster by name, list, update, delete; cluster delete --force needs a reason", async () => {
  await hf("cluster", "create", "cli-np");
  const np = JSON.parse((await hf("nodepool", "create", "workers", "--cluster", "cli-np", "--spec", '{"replicas":3}', "-o", "json")).stdout);
  expect(np).toMatchObject({ name: "workers", generation: "1", spec: { replicas: 3 } });
  expect((await hf("nodepool", "list", "--cluster", "cli-np")).stdout).toMatch(/workers\s+1\s+0\s+NotReady/);
  const updated = JSON.parse((await hf("nodepool", "update", "workers", "--cluster", "cli-np", "--spec", '{"replicas":5}', "-o", "json")).stdout);
  expect(updated.generation).toBe("2");
  expect(JSON.parse((await hf("nodepool", "delete", np.id, "-o", "json")).stdout).deletedTime).toBeDefined();
  expect((await hf("nodepool", "get", "workers")).stderr).toMatch(/needs --cluster/);

  expect((await hf("cluster", "delete", "cli-np", "--force")).code).toBe(2);
  expect((await hf("cluster", "delete", "cli-np", "--force", "--reason", "test")).stderr).toMatch(/FailedPrecondition: .*not being deleted/);
  await hf("cluster", "delete", "cli-np");
  const forced = await hf("cluster", "delete", "cli-np", "--force", "--reason", "adapters decommissioned");
  expect(forced).toMatchObject({ code: 0 });
  expect(forced.stdout).toMatch(/removed \(1 nodepools\)/);
  expect((await hf("cluster", "get", "cli-np")).code).toBe(1);
});

describe("credentials", () => {
  /** A token file for `identity` (0600, as npm start writes them). */
  async function tokenFile(identity: string): Promise<string> {
    const path = join(dir, `${identity.replace(/\W/g, "_")}.token`);
    writeFileSync(path, `${await api.issuer!.token(identity)}\n`, { mode: 0o600 });
    return path;
  }
  /** Creates a cluster through hf with `args`/`env` and says who the API recorded as its creator. */
  async function createdBy(name: string, env: Record<string, string>, ...args: string[]): Promise<string> {
    const r = await hfWith(env, ...args, "cluster", "create", name, "-o", "json");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    return JSON.parse(r.stdout).createdBy;
  }

  test("--token: the flag's token is sent (the API records its identity as the creator)", async () => {
    const token = await api.issuer!.token("test:user");
    expect(await createdBy("cli-flag-token", {}, "--token", token)).toBe("test:user");
    // The flag wins over HF_TOKEN.
    expect(await createdBy("cli-flag-wins", { HF_TOKEN: operatorToken }, "--token", token)).toBe("test:user");
  });

  test("--token-file and HF_TOKEN_FILE: the file's token is sent", async () => {
    expect(await createdBy("cli-flag-file", {}, "--token-file", await tokenFile("test:user"))).toBe("test:user");
    expect(await createdBy("cli-env-file", { HF_TOKEN_FILE: await tokenFile("test:proxy") })).toBe("test:proxy");
  });

  test("HF_CREDENTIALS: the entry for the API's URL, a tokenFile, is used; a reader's token is refused a write with the identity named", async () => {
    const creds = join(dir, "credentials.json");
    writeFileSync(creds, JSON.stringify({ version: 1, servers: { [api.baseUrl]: { tokenFile: await tokenFile("test:user") } } }), { mode: 0o600 });
    expect(await createdBy("cli-creds-file", { HF_CREDENTIALS: creds })).toBe("test:user");
    const list = await hfWith({ HF_CREDENTIALS: creds }, "cluster", "list", "-o", "json");
    expect(list).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(list.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ name: "cli-creds-file" })]));

    writeFileSync(creds, JSON.stringify({ version: 1, servers: { [api.baseUrl]: { tokenFile: await tokenFile("test:reader") } } }), { mode: 0o600 });
    const denied = await hfWith({ HF_CREDENTIALS: creds }, "cluster", "create", "cli-reader-write");
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^hf: PermissionDenied: .*\(the identity "test:reader" lacks the role this call needs; its token came from /);
    expect(denied.stderr).toContain(creds);
  });

  test("no credentials anywhere → exit 1 with the Unauthenticated hint saying where credentials come from", async () => {
    const r = await hfWith({}, "cluster", "list");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^hf: Unauthenticated: authentication required \(no credentials for http:\/\/127\.0\.0\.1:\d+: run npm start, which writes them to .*none\.json, or pass --token \/ HF_TOKEN\)\n$/);
  });

  test("an expired token → exit 1: refused, with where it came from, never the token itself", async () => {
    const expired = await api.issuer!.token("test:operator", { ttlSeconds: -3600 });
    const r = await hfWith({ HF_TOKEN: expired }, "cluster", "list");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hf: Unauthenticated: invalid credentials \(the token was refused: .*this one came from HF_TOKEN\)/);
    expect(r.stderr).not.toContain(expired);
    expect(r.stderr).not.toContain(expired.split(".")[1]);
  });

  test("hf token prints the token hf would send (HF_TOKEN here)", async () => {
    const r = await hfWith({ HF_TOKEN: operatorToken }, "token");
    expect(r).toEqual({ code: 0, stdout: `${operatorToken}\n`, stderr: "" });
  });
});

test("an https API: hf trusts the CA from HF_CA or --ca, and refuses a server it cannot verify", async () => {
  const secure = await startApi({ auth: true, tls: true });
  try {
    const token = await secure.issuer!.token("test:operator");
    const ok = await exec(cli.path, ["cluster", "create", "cls-over-tls", "-o", "json"], envWith({ HF_API_URL: secure.baseUrl, HF_TOKEN: token, HF_CA: secure.caFile! }));
    expect(ok).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(ok.stdout)).toMatchObject({ name: "cls-over-tls", createdBy: "test:operator" });
    const flag = await exec(cli.path, ["--ca", secure.caFile!, "cluster", "list", "-o", "json"], envWith({ HF_API_URL: secure.baseUrl, HF_TOKEN: token }));
    expect(flag.code).toBe(0);
    // Without the CA the certificate cannot be verified: the call fails, nothing is sent in the clear.
    const untrusted = await exec(cli.path, ["cluster", "list"], envWith({ HF_API_URL: secure.baseUrl, HF_TOKEN: token }));
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/certificate|--ca/i);
  } finally {
    await secure.close();
  }
});
