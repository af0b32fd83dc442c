/**
 * `node --import tsx bench/profile-api.ts [get|full|list|report|health] [clusters] [seconds]`: runs one read
 * load against the API started with --cpu-prof and prints where its CPU went (self time by function).
 * The tool behind the figures in docs/benchmarks.md; not part of `npm run bench`.
 */
import { readdirSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { ResourceView } from "../gen/hyperfleet/v1/resource_status_pb.js";
import { createApiClient } from "../services/shared/api-client.js";
import { getCalls, shardListCalls } from "./reads.js";
import { reportCalls } from "./reports.js";
import { benchApi, load } from "./support.js";

const [what = "get", n = "10000", secs = "8"] = process.argv.slice(2);
const dir = `/tmp/hf-prof-${process.pid}`;
mkdirSync(dir, { recursive: true });
const { db, ids, api } = await benchApi("prof", Number(n), 16, 0, process.env.NO_PROF ? [] : ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
const client = createApiClient(api.url);
const fn =
  what === "report"
    ? reportCalls(client, ids)
    : what === "list"
      ? shardListCalls(client)
      : what === "health"
        ? () => fetch(`${api.url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
        : what === "full"
          ? () => client.clusters.getCluster({ id: ids[Math.floor(Math.random() * ids.length)], view: ResourceView.FULL })
          : getCalls(client, ids);
await load(16, 1000, fn);
/** CPU milliseconds the API process has used (user + system, from /proc: the profile's times include waiting for a core). */
const apiCpuMs = () => {
  const f = readFileSync(`/proc/${api.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
};
const cpu0 = process.cpuUsage();
const api0 = apiCpuMs();
const r = await load(what === "list" ? 4 : 16, Number(secs) * 1000, fn);
const apiMs = apiCpuMs() - api0;
const cpu1 = process.cpuUsage(cpu0);
console.log(`${what}: ${r.perSecond.toFixed(0)}/s p50 ${r.p50.toFixed(1)} p99 ${r.p99.toFixed(1)} errors ${r.errors}; CPU per call: API ${(apiMs / r.ops).toFixed(3)} ms, load generator ${((cpu1.user + cpu1.system) / 1000 / r.ops).toFixed(3)} ms`);
await api.stop();
await db.drop();
const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
if (file) {
  interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
  const prof = JSON.parse(readFileSync(`${dir}/${file}`, "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const node of prof.nodes) {
    const t = self.get(node.id) ?? 0;
    if (node.callFrame.functionName === "(idle)") continue;
    total += t;
    const f = node.callFrame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/work\/[^/]+\//, "") || "(native)";
    const k = `${node.callFrame.functionName || "(anon)"} ${f}:${node.callFrame.lineNumber}`;
    byFn.set(k, (byFn.get(k) ?? 0) + t);
    const pkg = f.split("/").slice(0, f.startsWith("@") ? 2 : 1).join("/");
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + t);
  }
  console.log(`API busy CPU ${(total / 1000).toFixed(0)} ms over ${r.ops} calls = ${(total / 1000 / r.ops).toFixed(2)} ms/call`);
  for (const [k, v] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  console.log("--- functions");
  for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}
if (process.env.KEEP_PROF) console.log(`profile kept in ${dir}`);
else rmSync(dir, { recursive: true, force: true });
