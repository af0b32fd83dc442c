/** Benchmark 1: sustained ReportStatus over gRPC vs pgbench running the same transaction. */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ConditionStatus } from "../gen/hyperfleet/v1/condition_pb.js";
import { ReportStatusRequestSchema, StatusService } from "../gen/hyperfleet/v1/status_pb.js";
import { encodeFrame } from "../services/shared/rpc/grpc-wire.js";
import { createApiClient, type ApiClient } from "../services/shared/api-client.js";
import { SNAPSHOT_SQL, WRITE_SQL } from "../services/api/store/status-store.js";
import { rawFramesCaller } from "./h2-frames.js";
import { benchApi, byLabel, cpuSeconds, cpuSecondsOf, load, POSTGRES_PROCESS, rawGrpcCaller, table } from "./support.js";

const run = promisify(execFile);
const ADAPTERS = ["validation", "dns", "placement"];
const CONDITIONS = [
  { type: "Applied", status: ConditionStatus.TRUE, reason: "Applied", message: "validation-job present" },
  { type: "Available", status: ConditionStatus.FALSE, reason: "JobRunning", message: "waiting for validation-job" },
  { type: "Health", status: ConditionStatus.TRUE, reason: "Healthy", message: "" },
];

/** Report requests for random clusters and adapters; observed times only move forward, so every one is stored. */
function reportRequests(ids: string[]) {
  let t = Date.now() - 3_600_000;
  return () =>
    create(ReportStatusRequestSchema, {
      resourceId: ids[Math.floor(Math.random() * ids.length)],
      adapter: ADAPTERS[Math.floor(Math.random() * 3)],
      observedGeneration: 1n,
      observedTime: timestampFromDate(new Date(t++)),
      conditions: CONDITIONS,
    });
}

/** One report per call through the services' own API client. */
export function reportCalls(client: ApiClient, ids: string[], next = reportRequests(ids)) {
  return () => client.statuses.reportStatus(next());
}

/** `load`, plus the CPU the API and this process spent per call (from /proc and process.cpuUsage). */
async function measured(apiPid: number, concurrency: number, ms: number, fn: () => Promise<unknown>) {
  const api0 = cpuSeconds(apiPid);
  const pg0 = cpuSecondsOf(POSTGRES_PROCESS);
  const machine0 = machineCpu();
  const own0 = process.cpuUsage();
  const r = await load(concurrency, ms, fn);
  const own = process.cpuUsage(own0);
  const machine = machineCpu();
  const perCall = (seconds: number) => (seconds * 1000) / r.ops;
  return {
    ...r,
    apiCpuMs: perCall(cpuSeconds(apiPid) - api0),
    loadCpuMs: perCall((own.user + own.system) / 1e6),
    pgCpuMs: perCall(cpuSecondsOf(POSTGRES_PROCESS) - pg0),
    busyPct: (100 * (machine.busy - machine0.busy)) / (machine.total - machine0.total),
  };
}

/** The machine's CPU time so far (all cores, clock ticks) and the part of it not idle, from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total }; // idle, iowait
}

export async function benchReports(opts: { clusters: number; seconds: number; concurrency: number }): Promise<Record<string, number>> {
  const { db, ids, api, metricsUrl } = await benchApi("reports", opts.clusters, opts.concurrency);
  const next = reportRequests(ids);
  const report = reportCalls(createApiClient(api.url), ids, next);
  await load(opts.concurrency, 1000, report); // warm-up: JIT, pools
  const r = await measured(api.pid, opts.concurrency, opts.seconds * 1000, report);
  // The same calls from a lean load generator: requests encoded before the clock starts, responses
  // not decoded. It spends less of the two shared cores, which the API gets instead (what h2load
  // does for the reads, which it can drive because they repeat one request).
  const frames = Array.from({ length: opts.seconds * 14_000 }, () => encodeFrame(toBinary(ReportStatusRequestSchema, next())));
  const path = `/${StatusService.typeName}/${StatusService.method.reportStatus.name}`;
  let sent = 0;
  const nextFrame = () => frames[sent++] ?? encodeFrame(toBinary(ReportStatusRequestSchema, next()));
  const raw = rawGrpcCaller(api.url, path);
  const lean = await measured(api.pid, opts.concurrency, opts.seconds * 1000, () => raw.call(nextFrame()));
  await raw.close();
  // Leaner still: HTTP/2 as raw frames (bench/h2-frames.ts), a few µs per call as pgbench's C client
  // spends. A call counts only if its answer says stored = true (field 1, varint 1).
  const framesCaller = rawFramesCaller(api.url, path, Buffer.from([0x08, 0x01]));
  const h2frames = await measured(api.pid, opts.concurrency, opts.seconds * 1000, () => framesCaller.call(nextFrame()));
  await framesCaller.close();
  // Every call should have been stored: a discarded report (one overtaken by a later one for the same
  // row) costs the API less and would flatter the rate.
  const outcomes = [...byLabel(await (await fetch(metricsUrl)).text(), "hyperfleet_api_status_reports_total", "outcome")].map(([outcome, n]) => `${outcome} ${n}`);
  const apiRss = api.peakRssMb();
  await api.stop();

  // The SQL the API runs for one report (its two statements, taken from the store, for a batch of
  // one), as a pgbench script. The API builds the write's JSON parameter in TypeScript; pgbench can
  // only bind its variables as parameters, so the script builds that JSON in SQL around them.
  const conditions = JSON.stringify(CONDITIONS.map((c) => ({ type: c.type, status: c.status === ConditionStatus.TRUE ? "True" : "False", reason: c.reason, message: c.message, lastTransitionTime: new Date().toISOString() })));
  const fill = (sql: string, value: string) => sql.replaceAll("$1", value).replace(/\s+/g, " ").trim();
  const input = `jsonb_build_array(jsonb_build_object('kind', 'Cluster', 'resource_id', :cid::text, 'version', :version::text, 'phase', 'NotReady', 'status_generation', 1,
    'last_transition_time', clock_timestamp(), 'last_updated_time', clock_timestamp(), 'status_conditions', '${conditions}'::jsonb, 'available_adapters', 0,
    'adapter', (ARRAY['validation','dns','placement'])[:a::int], 'resource_kind', 'Cluster', 'observed_generation', 1, 'observed_time', clock_timestamp(),
    'conditions', '${conditions}'::jsonb, 'data', null, 'created_time', clock_timestamp(), 'last_report_time', clock_timestamp()))`;
  // Clusters are numbered so pgbench can pick one at random and look it up by primary key, as the API does.
  await db.pool.query("create table bench_ids as select row_number() over (order by id)::int as n, id from clusters");
  await db.pool.query("alter table bench_ids add primary key (n)");
  const script = [
    `\\set n random(1, ${ids.length})`,
    `\\set a random(1, 3)`,
    `SELECT id AS cid FROM bench_ids WHERE n = :n \\gset`,
    `${fill(SNAPSHOT_SQL, "array[:cid::uuid]")} \\gset`,
    `${fill(WRITE_SQL, input)};`,
    "",
  ].join("\n");
  const dir = mkdtempSync(join(tmpdir(), "hf-pgbench-"));
  const file = join(dir, "report.sql");
  writeFileSync(file, script);
  // Prepared statements (as the API runs these two: parsed and planned once per connection). -l writes one line per transaction (its latency in µs is the third field): pgbench's own p50/p99.
  // Postgres's default durability (synchronous commit), as the API commits every report: each pgbench
  // transaction waits for its WAL flush, where the API's batches share one.
  const { stdout } = await run("pgbench", ["-n", "-M", "prepared", "-c", String(opts.concurrency), "-j", "2", "-T", String(opts.seconds), "-f", file, "-l", "--log-prefix", join(dir, "tx"), db.url], { timeout: (opts.seconds + 60) * 1000, cwd: dir });
  const lines = readdirSync(dir).filter((f) => f.startsWith("tx")).flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean));
  const pgLatencies = lines.map((l) => Number(l.split(" ")[2]) / 1000).sort((a, b) => a - b);
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
  const pgPct = (p: number) => pgLatencies[Math.min(pgLatencies.length - 1, Math.floor((p / 100) * pgLatencies.length))] ?? NaN;
  rmSync(dir, { recursive: true, force: true });
  await db.drop();

  const row = (what: string, x: typeof r) => ({ what, "ops/s": x.perSecond, "p50 ms": x.p50, "p99 ms": x.p99, errors: x.errors, "CPU ms/call: API": x.apiCpuMs, "Postgres": x.pgCpuMs, "load gen.": x.loadCpuMs, "machine busy %": x.busyPct });
  table(`ReportStatus: ${opts.concurrency} concurrent gRPC clients, ${opts.clusters} clusters × 3 adapters, ${opts.seconds}s each`, [
    row("API ReportStatus, services' gRPC client", r),
    row("API ReportStatus, lean load generator", lean),
    row("API ReportStatus, raw HTTP/2 frames", h2frames),
    { what: "pgbench, same transaction", "ops/s": tps, "p50 ms": pgPct(50), "p99 ms": pgPct(99), errors: 0, "CPU ms/call: API": NaN, "Postgres": NaN, "load gen.": NaN, "machine busy %": NaN },
  ]);
  const ratio = h2frames.perSecond / tps;
  const pct = (x: { perSecond: number }) => `${((x.perSecond / tps) * 100).toFixed(1)}%`;
  if (sent > frames.length) console.log(`(the lean load generators ran out of pre-encoded requests and encoded ${sent - frames.length} during their runs)`);
  console.log(`Report outcomes over the three runs and the warm-up: ${outcomes.join(", ")}`);
  console.log(`API / pgbench = ${pct(h2frames)} with raw HTTP/2 frames, ${pct(lean)} with the lean load generator, ${pct(r)} with the services' client   (target ≥ 60%, p99 ≤ 25 ms); API peak RSS ${apiRss} MB`);
  return { reportsPerSecond: h2frames.perSecond, p99: h2frames.p99, pgbenchTps: tps, ratio };
}
