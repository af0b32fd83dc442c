/**
 * The hf CLI end to end: the real CLI against a real API, as a user's shell would run it. It runs
 * compiled once (test/support/build-cli.ts) rather than through bin.js's tsx, whose cold start per
 * process made this file slow; one test still runs bin.js itself.
 */
import { execFile } from "node:child_process";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCli, type BuiltCli } from "../support/build-cli.js";
import { startApi, type TestApi } from "../support/start-api.js";

let api: TestApi;
let cli: BuiltCli;
beforeAll(async () => {
  [api, cli] = await Promise.all([startApi(), buildCli()]);
});
afterAll(async () => {
  cli?.remove();
  await api?.close();
});

/** Runs `node <script> args` with `env`; resolves with its exit code and output. */
function exec(script: string, args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

const hf = (...args: string[]) => exec(cli.path, args, { ...process.env, HF_API_URL: api.baseUrl, NO_COLOR: "1" });

test("bin.js (what npm run hf and the package's bin run) starts the same CLI", async () => {
  const r = await exec("services/hf/bin.js", ["cluster", "list", "-o", "json"], { ...process.env, HF_API_URL: api.baseUrl });
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
  const r = await exec(cli.path, ["--api", "http://127.0.0.1:1", "cluster", "list"], {});
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
