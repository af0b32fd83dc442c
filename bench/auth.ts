/**
 * What authentication costs (issue 18): ReportStatus throughput of one API with AUTH=none against one
 * with AUTH=jwt (npm start's local issuer; each adapter's reports carry that adapter's own token),
 * both running on the same database, measured alternately round by round so that both see the same
 * machine. Tokens are verified once and then found in the verifier's cache until they expire.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { readFileSync } from "node:fs";
import { ConditionStatus } from "../gen/hyperfleet/v1/condition_pb.js";
import { ReportStatusRequestSchema, StatusService } from "../gen/hyperfleet/v1/status_pb.js";
import { encodeFrame } from "../services/shared/rpc/grpc-wire.js";
import { openLocalAuth } from "../services/stack/local-auth.js";
import { rawFramesCaller } from "./h2-frames.js";
import { cpuSeconds, freePort, load, migratedBenchDatabase, seedClusters, startService, table, type LoadResult } from "./support.js";

const ADAPTERS = ["validation", "dns", "placement"];
const CONDITIONS = [
  { type: "Applied", status: ConditionStatus.TRUE, reason: "Applied", message: "validation-job present" },
  { type: "Available", status: ConditionStatus.FALSE, reason: "JobRunning", message: "waiting for validation-job" },
  { type: "Health", status: ConditionStatus.TRUE, reason: "Healthy", message: "" },
];

export async function benchAuth(opts: { clusters: number; seconds: number; concurrency: number; rounds: number }): Promise<{ ratios: number[] }> {
  const db = await migratedBenchDatabase("auth");
  await seedClusters(db.pool, opts.clusters);
  const ids: string[] = (await db.pool.query("select id from clusters")).rows.map((r) => r.id);
  const dir = mkdtempSync(join(tmpdir(), "hf-bench-auth-"));
  const auth = await openLocalAuth(dir, ADAPTERS, "bench:user");
  const start = async (env: Record<string, string>) => {
    const port = await freePort();
    const svc = await startService("services/api/main.ts", { DATABASE_URL: db.url, API_PORT: String(port), API_METRICS_PORT: String(await freePort()), DB_POOL_MAX: String(opts.concurrency), ...env }, port);
    return { svc, url: `http://127.0.0.1:${port}` };
  };
  const open = await start({ AUTH: "none" });
  const secured = await start({ AUTH: "jwt", AUTH_CONFIG: auth.configFile });
  // Observed times only move forward, so every report is stored on either API (a discarded one costs less).
  let t = Date.now() - 3_600_000;
  const path = `/${StatusService.typeName}/${StatusService.method.reportStatus.name}`;
  /** Callers per adapter: with tokens, each adapter's own (an adapter may report only under its name). */
  const callers = (url: string, withTokens: boolean) =>
    ADAPTERS.map((a) => rawFramesCaller(url, path, Buffer.from([0x08, 0x01]), withTokens ? { authorization: `Bearer ${readFileSync(auth.tokenFile(`adapter-${a}`), "utf8").trim()}` } : {}));
  const run = async (url: string, withTokens: boolean, ms: number): Promise<LoadResult & { apiCpuUs: number }> => {
    const pid = withTokens ? secured.svc.pid : open.svc.pid;
    const cs = callers(url, withTokens);
    const cpu0 = cpuSeconds(pid);
    const r = await load(opts.concurrency, ms, () => {
      const a = Math.floor(Math.random() * 3);
      const req = create(ReportStatusRequestSchema, { resourceId: ids[Math.floor(Math.random() * ids.length)], adapter: ADAPTERS[a], observedGeneration: 1n, observedTime: timestampFromDate(new Date(t++)), conditions: CONDITIONS });
      return cs[a].call(encodeFrame(toBinary(ReportStatusRequestSchema, req)));
    });
    await Promise.all(cs.map((c) => c.close()));
    return { ...r, apiCpuUs: ((cpuSeconds(pid) - cpu0) * 1e6) / Math.max(1, r.ops) };
  };
  try {
    await run(open.url, false, 1000); // warm-up: JIT, pools, and the verifier's cache
    await run(secured.url, true, 1000);
    const rows: Record<string, string | number>[] = [];
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    for (let i = 1; i <= opts.rounds; i++) {
      // Alternating which goes first, so that neither always follows the other's checkpoint or vacuum.
      const order = i % 2 === 1 ? (["none", "jwt"] as const) : (["jwt", "none"] as const);
      const got: Record<string, LoadResult & { apiCpuUs: number }> = {};
      for (const mode of order) got[mode] = await run(mode === "none" ? open.url : secured.url, mode === "jwt", opts.seconds * 1000);
      const ratio = got.jwt.perSecond / got.none.perSecond;
      ratios.push(ratio);
      cpuRatios.push(got.jwt.apiCpuUs / got.none.apiCpuUs);
      rows.push({ round: i, "AUTH=none ops/s": got.none.perSecond, "AUTH=jwt ops/s": got.jwt.perSecond, "jwt / none": ratio, "p99 none ms": got.none.p99, "p99 jwt ms": got.jwt.p99, "API CPU µs/call none": got.none.apiCpuUs, "jwt": got.jwt.apiCpuUs, errors: got.none.errors + got.jwt.errors });
    }
    table(`Authentication cost: ReportStatus, ${opts.concurrency} concurrent callers, ${opts.clusters} clusters, ${opts.seconds}s per run, alternating`, rows);
    const lo = Math.min(...ratios);
    const hi = Math.max(...ratios);
    console.log(`with tokens / without: ${(lo * 100).toFixed(1)}-${(hi * 100).toFixed(1)} % of report throughput over ${opts.rounds} rounds (target: authentication costs < 5 %, i.e. ≥ 95 %)`);
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(`API CPU per report with tokens / without: median ${(med(cpuRatios) * 100).toFixed(1)} % (range ${(Math.min(...cpuRatios) * 100).toFixed(1)}-${(Math.max(...cpuRatios) * 100).toFixed(1)} %); throughput median ${(med(ratios) * 100).toFixed(1)} %`);
    return { ratios };
  } finally {
    await open.svc.stop();
    await secured.svc.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
