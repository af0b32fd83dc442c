/**
 * The production image's application as the Dockerfile's build stage makes it (services/stack/build.ts
 * --image), run the way its runtime stage runs it: plain node, in a directory where nothing but the
 * build's output can be found (no checkout, no node_modules of ours up the tree). No Docker here, so
 * this is as close to the image as this machine gets (issue 19): the programs start and work (migrate
 * on Postgres, provision on the Pub/Sub emulator through the one package shipped unbundled, the API on
 * the migrated database, an adapter that finds its YAML beside its module), and tsx, esbuild and PGlite
 * are nowhere in it.
 *
 * @requires pubsub
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IMAGE_ENTRIES, IMAGE_EXTERNAL_PACKAGES, IMAGE_FORBIDDEN_PACKAGES, buildImage } from "../../services/stack/build.js";
import { createTempDatabase, type TempDatabase } from "../support/temp-database.js";
import { freePort } from "../support/ports.js";

let root: string;
let app: string;
let packages: string[];
let db: TempDatabase;
const started: ChildProcess[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "hf-image-"));
  app = join(root, "app");
  ({ packages } = await buildImage(app));
  db = await createTempDatabase("hf_image");
}, 120_000);
afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await db?.drop();
  rmSync(root, { recursive: true, force: true });
});

/** The image's environment: production, no inherited variables of ours (HF_*, DATABASE_URL, ...). */
function imageEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_ENV: "production", METADATA_SERVER_DETECTION: "none", LOG_LEVEL: "info", ...extra };
}

/** Runs a program to its end: its exit code and output. */
function runToEnd(program: string, env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(app, `${program}.mjs`)], { cwd: app, env: imageEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    started.push(child);
    let output = "";
    child.stdout!.on("data", (b: Buffer) => (output += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Starts a long-running program and resolves once its output matches `ready`. */
async function startUntil(program: string, env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [join(app, `${program}.mjs`)], { cwd: app, env: imageEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  let output = "";
  child.stdout!.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (output += b.toString()));
  const deadline = Date.now() + 30_000;
  while (!ready.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${program} did not start:\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => output };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  return exited;
}

test("holds one module per program, the adapters' configs, and in node_modules only what the unbundled package needs", () => {
  for (const name of Object.keys(IMAGE_ENTRIES)) expect([name, existsSync(join(app, `${name}.mjs`))]).toEqual([name, true]);
  expect(JSON.parse(readFileSync(join(app, "programs.json"), "utf8"))).toEqual(Object.fromEntries(Object.entries(IMAGE_ENTRIES).map(([n, e]) => [`${n}.mjs`, e])));
  expect(readdirSync(join(app, "configs")).sort()).toEqual(readdirSync("services/adapter/configs").sort());
  for (const p of IMAGE_EXTERNAL_PACKAGES) expect(packages).toContain(`node_modules/${p}`);
  // Nothing of the build's tools, nor the embedded database, whatever depends on what.
  const installed = readdirSync(join(app, "node_modules")).flatMap((d) => (d.startsWith("@") ? readdirSync(join(app, "node_modules", d)).map((n) => `${d}/${n}`) : [d]));
  for (const name of installed) expect([name, IMAGE_FORBIDDEN_PACKAGES.some((f) => name === f || name.startsWith(`${f}/`))]).toEqual([name, false]);
  expect(installed).not.toContain("typescript");
  // And not in the bundles either: no import of them survives compilation.
  for (const file of readdirSync(app).filter((f) => f.endsWith(".mjs"))) {
    const code = readFileSync(join(app, file), "utf8");
    expect([file, /from ["'](tsx|esbuild|@electric-sql\/[^"']+)["']|import\(["'](tsx|esbuild|@electric-sql)/.exec(code)?.[0]]).toEqual([file, undefined]);
  }
});

test("the API without DATABASE_URL stops with a message that says to set it (no embedded PGlite in the image)", async () => {
  const { code, output } = await runToEnd("api", { AUTH: "none", API_PORT: String(await freePort()), API_METRICS_PORT: String(await freePort()) });
  expect(code).toBe(1);
  expect(output).toMatch(/DATABASE_URL is not set, and this image has no embedded database/);
  expect(output).not.toMatch(/ERR_MODULE_NOT_FOUND/);
});

test("migrate, then the API on the migrated database; provision on the emulator; an adapter finds its config beside its module", async () => {
  // As compose runs them: migrate with AUTH=none and DATABASE_URL (docker-compose.yml), then the API only checks the schema.
  const migrated = await runToEnd("migrate", { AUTH: "none", DATABASE_URL: db.url });
  expect([migrated.code, migrated.output]).toEqual([0, expect.stringMatching(/migrations applied/)]);

  const namespace = `img${Date.now().toString(36)}`;
  const emulator = process.env.PUBSUB_EMULATOR_HOST ?? "127.0.0.1:8085";
  const broker = { PUBSUB_EMULATOR_HOST: emulator, PUBSUB_PROJECT_ID: "hyperfleet-local", TOPIC_NAMESPACE: namespace };
  const provisioned = await runToEnd("provision", broker);
  expect([provisioned.code, provisioned.output]).toEqual([0, expect.stringContaining(`${namespace}-clusters: ${namespace}-clusters-validation`)]);

  const [apiPort, apiMetrics, kubePort, adapterPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const api = await startUntil("api", { AUTH: "none", API_PORT: String(apiPort), API_METRICS_PORT: String(apiMetrics), DATABASE_URL: db.url, MIGRATE_ON_START: "false" }, /"api listening"/);
  expect((await fetch(`http://127.0.0.1:${apiMetrics}/healthz`)).ok).toBe(true);
  const kube = await startUntil("kube-standin", { KUBE_STANDIN_PORT: String(kubePort) }, /"kubernetes stand-in listening"/);
  const adapter = await startUntil(
    "adapter",
    { ...broker, AUTH: "none", ADAPTER: "validation", ADAPTER_PORT: String(adapterPort), ADAPTER_METRICS_PORT: String(await freePort()), API_URL: `http://127.0.0.1:${apiPort}`, KUBE_URL: `http://127.0.0.1:${kubePort}` },
    /"adapter consuming"/,
  );
  expect(adapter.output()).toContain(`"config":"${join(app, "configs", "validation.yaml")}"`);
  for (const p of [adapter, kube, api]) expect(await stop(p.child)).toBe(0);
}, 120_000);
