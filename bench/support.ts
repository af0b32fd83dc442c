/** Shared plumbing for the benchmarks: processes, seeding, load loops, tables. Numbers are measured, never assumed. */
import type { JsonObject } from "@bufbuild/protobuf";
import type { ApiClient } from "../services/shared/api-client.js";
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import pg from "pg";
import { buildServices } from "../services/stack/build.js";
import { serviceEnv, serviceNodeArgs } from "../services/stack/processes.js";
import { freePort } from "../test/support/ports.js";

export const SERVER_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A fresh database for one benchmark. */
export async function benchDatabase(name: string): Promise<{ url: string; pool: pg.Pool; drop: () => Promise<void> }> {
  const db = `hf_bench_${name}_${process.pid}`;
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${db} with (force)`);
  await admin.query(`create database ${db}`);
  await admin.end();
  const u = new URL(SERVER_URL);
  u.pathname = `/${db}`;
  const pool = new pg.Pool({ connectionString: u.toString(), max: 4 });
  return {
    url: u.toString(),
    pool,
    async drop() {
      await pool.end();
      const c = new pg.Client({ connectionString: SERVER_URL });
      await c.connect();
      await c.query(`drop database if exists ${db} with (force)`);
      await c.end();
    },
  };
}

export interface Service {
  pid: number;
  url: string;
  port: number;
  stop(): Promise<void>;
  peakRssMb(): number;
}

let bundles: Promise<Record<string, string>> | undefined;

/** Runs a service as its own process, compiled the way `npm start` runs it, and waits for its port. */
export async function startService(entry: string, env: Record<string, string>, port: number, nodeArgs: string[] = []): Promise<Service> {
  // Inside the project, so the bundles resolve node_modules; removed when the benchmark process exits.
  if (!bundles) {
    const dir = `.hyperfleet/bench-build-${process.pid}`;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    bundles = buildServices(dir);
  }
  const bundle = (await bundles)[entry];
  const child: ChildProcess = spawn(process.execPath, [...serviceNodeArgs(process.env), ...nodeArgs, ...(bundle ? [bundle] : ["--import", "tsx", entry])], { env: serviceEnv({ ...process.env, LOG_LEVEL: "warn", METADATA_SERVER_DETECTION: "none", AUTH: "none", ...env }), stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (b) => (err += b));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${entry} exited: ${err}`);
    if (await new Promise<boolean>((r) => net.connect(port, "127.0.0.1").once("connect", function (this: net.Socket) { this.destroy(); r(true); }).once("error", () => r(false)))) break;
    await sleep(100);
  }
  return {
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    peakRssMb: () => peakRssMb(child.pid!),
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** VmHWM: the peak resident set of a process, in MB. */
export function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** Command lines of Postgres's processes (every backend) and of the Pub/Sub emulator's JVM, for cpuSecondsOf. */
export const POSTGRES_PROCESS = /(^|\/)postgres[: \0]/;
export const EMULATOR_PROCESS = /pubsub-emulator|cloud-pubsub-emulator/;

/** A Prometheus text exposition's samples of `metric`, summed by the value of `label`. */
export function byLabel(text: string, metric: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)`, "gm"))) {
    const value = new RegExp(`(?:^|,)${label}="([^"]*)"`).exec(m[1])?.[1];
    if (value !== undefined) out.set(value, (out.get(value) ?? 0) + Number(m[2]));
  }
  return out;
}

/** All samples of `metric`, summed. */
export function sumOf(text: string, metric: string): number {
  return [...text.matchAll(new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)`, "gm"))].reduce((a, m) => a + Number(m[1]), 0);
}

/** Total CPU seconds of every process whose command line matches (Postgres backends, the emulator's JVM). */
export function cpuSecondsOf(match: RegExp): number {
  let total = 0;
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      if (match.test(readFileSync(`/proc/${d}/cmdline`, "utf8"))) total += cpuSeconds(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/**
 * A gRPC caller as lean as Node allows, for load generators: requests arrive already framed (encoded
 * before the clock starts) and a call only checks grpc-status, decoding nothing. On two shared
 * cores every millisecond the load generator spends is taken from the server it measures.
 */
export function rawGrpcCaller(url: string, path: string) {
  const session = http2.connect(url);
  let lost: Error | undefined;
  session.on("error", (err) => (lost = err));
  session.on("close", () => (lost ??= new Error("HTTP/2 session closed")));
  return {
    call(frame: Buffer): Promise<void> {
      // A lost session fails every later call at once (counted as errors) instead of hanging them.
      if (lost) return Promise.reject(lost);
      return new Promise((resolve, reject) => {
        const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc+proto", te: "trailers" });
        let status: string | undefined;
        stream.on("response", (h) => (status = h["grpc-status"] as string | undefined));
        stream.on("trailers", (h) => (status = (h["grpc-status"] as string | undefined) ?? status));
        stream.on("data", () => undefined);
        stream.on("error", reject);
        stream.on("close", () => (status === "0" ? resolve() : reject(new Error(`grpc-status ${status}`))));
        stream.end(frame);
      });
    },
    close: () => new Promise<void>((r) => (session.closed ? r() : session.close(() => r()))),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LoadResult {
  ops: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Runs `fn` from `concurrency` loops for `ms`; latency percentiles in milliseconds. */
export async function load(concurrency: number, ms: number, fn: (worker: number, i: number) => Promise<unknown>): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        const t = performance.now();
        try {
          await fn(w, i);
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return { ops: latencies.length, seconds, perSecond: latencies.length / seconds, p50: pct(50), p99: pct(99), errors };
}

/** Prints a titled table of rows (objects with the same keys). */
export function table(title: string, rows: Record<string, string | number>[]): void {
  const cols = Object.keys(rows[0] ?? {});
  const fmt = (v: string | number) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c]).length)));
  console.log(`\n${title}`);
  console.log(cols.map((c, i) => c.padEnd(widths[i])).join("  "));
  for (const r of rows) console.log(cols.map((c, i) => (typeof r[c] === "number" ? fmt(r[c]).padStart(widths[i]) : fmt(r[c]).padEnd(widths[i]))).join("  "));
}

/**
 * Inserts `n` clusters straight into Postgres (seeding 100,000 through the API would measure the
 * seeding). `due` of them are Ready but older than the Ready max age; the rest are Ready and fresh.
 * Labels: shard = i % 100, env cycles prod/dev/staging.
 */
export async function seedClusters(pool: pg.Pool, n: number, due = 0): Promise<void> {
  const step = due > 0 ? Math.floor(n / due) : 0;
  for (let from = 1; from <= n; from += 50_000) {
    const to = Math.min(n, from + 49_999);
    await pool.query(
      `insert into clusters (id, name, labels, spec, generation, phase, observed_generation, last_transition_time, last_updated_time, status_conditions, created_time, updated_time, created_by, updated_by)
       select gen_random_uuid(), 'bench-' || i,
              jsonb_build_object('shard', (i % 100)::text, 'env', (array['prod','dev','staging'])[1 + i % 3]),
              jsonb_build_object('region', 'us-east-1'), 1, 'Ready', 1, now(),
              case when $3 > 0 and i % $3 = 0 then now() - interval '2 hours' else now() end,
              '[]', now(), now(), 'bench', 'bench'
       from generate_series($1::int, $2::int) i`,
      [from, to, step],
    );
  }
  await pool.query("analyze clusters");
}

/** A fresh database with the API's schema applied. */
export async function migratedBenchDatabase(name: string) {
  const db = await benchDatabase(name);
  const { createDb, migrate } = await import("../services/api/store/db.js");
  const knex = createDb({ url: db.url });
  await migrate(knex);
  await knex.destroy();
  return db;
}

/** A fresh migrated database with `clusters` seeded, and the API running on it as its own process (with `nodeArgs`). */
export async function benchApi(name: string, clusters: number, poolMax: number, due = 0, nodeArgs: string[] = []) {
  const db = await migratedBenchDatabase(name);
  await seedClusters(db.pool, clusters, due);
  const ids: string[] = (await db.pool.query("select id from clusters")).rows.map((r) => r.id);
  const port = await freePort();
  const metricsPort = await freePort();
  const api = await startService("services/api/main.ts", { DATABASE_URL: db.url, API_PORT: String(port), API_METRICS_PORT: String(metricsPort), DB_POOL_MAX: String(poolMax) }, port, nodeArgs);
  return { db, ids, api, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
}

export { freePort };

/** Creates `count` clusters named fleet-<i>, 16 calls in flight (a platform team's bulk create). */
export async function createFleet(api: ApiClient, count: number, spec: JsonObject = {}): Promise<void> {
  let n = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (n < count) {
        const i = n++;
        await api.clusters.createCluster({ name: `fleet-${i}`, spec });
      }
    }),
  );
}
