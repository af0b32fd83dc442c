/** Benchmark 1: sustained ReportStatus over gRPC vs pgbench running the same transaction. */
import { execFile } from "node:child_process";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ConditionStatus } from "../../gen/hyperfleet/v1/condition_pb.js";
import { createApiClient } from "../../services/shared/api-client.js";
import { benchApi, load, table } from "./support.js";

const run = promisify(execFile);
const ADAPTERS = ["validation", "dns", "placement"];
const CONDITIONS = [
  { type: "Applied", status: ConditionStatus.TRUE, reason: "Applied", message: "validation-job present" },
  { type: "Available", status: ConditionStatus.FALSE, reason: "JobRunning", message: "waiting for validation-job" },
  { type: "Health", status: ConditionStatus.TRUE, reason: "Healthy", message: "" },
];

export async function benchReports(opts: { clusters: number; seconds: number; concurrency: number }): Promise<Record<string, number>> {
  const { db, ids, api } = await benchApi("reports", opts.clusters, opts.concurrency);
  const client = createApiClient(api.url);
  // Observed times only move forward, so no report is discarded as stale: every call writes.
  let t = Date.now() - 3_600_000;
  const report = () =>
    client.statuses.reportStatus({
      resourceId: ids[Math.floor(Math.random() * ids.length)],
      adapter: ADAPTERS[Math.floor(Math.random() * 3)],
      observedGeneration: 1n,
      observedTime: timestampFromDate(new Date(t++)),
      conditions: CONDITIONS,
    });
  await load(opts.concurrency, 1000, report); // warm-up: JIT, pools
  const r = await load(opts.concurrency, opts.seconds * 1000, report);
  const apiRss = api.peakRssMb();
  await api.stop();

  // The same transaction the API runs for one report, as plain SQL.
  const conditions = JSON.stringify(CONDITIONS.map((c) => ({ type: c.type, status: c.status === ConditionStatus.TRUE ? "True" : "False", reason: c.reason, message: c.message, lastTransitionTime: new Date().toISOString() })));
  const script = `\\set n random(1, ${opts.clusters})
\\set a random(1, 3)
BEGIN;
SET LOCAL synchronous_commit = off;
SELECT * FROM clusters WHERE name = 'bench-' || :n FOR UPDATE;
SELECT * FROM adapter_statuses WHERE resource_id = (SELECT id FROM clusters WHERE name = 'bench-' || :n);
INSERT INTO adapter_statuses (resource_id, adapter, resource_kind, observed_generation, observed_time, conditions, data, created_time, last_report_time) VALUES ((SELECT id FROM clusters WHERE name = 'bench-' || :n), (ARRAY['validation','dns','placement'])[:a], 'Cluster', 1, clock_timestamp(), '${conditions}', NULL, clock_timestamp(), clock_timestamp()) ON CONFLICT (resource_id, adapter) DO UPDATE SET observed_generation = excluded.observed_generation, observed_time = excluded.observed_time, conditions = excluded.conditions, data = excluded.data, last_report_time = excluded.last_report_time RETURNING *;
UPDATE clusters SET phase = 'NotReady', observed_generation = 1, last_updated_time = clock_timestamp(), status_conditions = '${conditions}' WHERE name = 'bench-' || :n RETURNING *;
END;
`;
  const file = join(mkdtempSync(join(tmpdir(), "hf-pgbench-")), "report.sql");
  writeFileSync(file, script);
  const { stdout } = await run("pgbench", ["-n", "-c", String(opts.concurrency), "-j", "2", "-T", String(opts.seconds), "-f", file, db.url], { timeout: (opts.seconds + 60) * 1000 });
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
  const pgLatency = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  await db.drop();

  table(`ReportStatus: ${opts.concurrency} concurrent gRPC clients, ${opts.clusters} clusters × 3 adapters, ${opts.seconds}s`, [
    { what: "API ReportStatus (gRPC)", "ops/s": r.perSecond, "p50 ms": r.p50, "p99 ms": r.p99, errors: r.errors },
    { what: "pgbench, same transaction", "ops/s": tps, "p50 ms": pgLatency, "p99 ms": NaN, errors: 0 },
  ]);
  const ratio = r.perSecond / tps;
  console.log(`API / pgbench = ${(ratio * 100).toFixed(1)}%   (target ≥ 60%, p99 ≤ 25 ms); API peak RSS ${apiRss} MB`);
  return { reportsPerSecond: r.perSecond, p99: r.p99, pgbenchTps: tps, ratio };
}
