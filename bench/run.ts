/**
 * `npm run bench`: every benchmark, printing its figures (docs/benchmarks.md has results and how to read
 * them). `--smoke` runs each at a toy size for seconds, so CI keeps them from rotting without judging
 * timings; `--only reports,auth,reads,sentinel,latency,convergence,fleet` picks some;
 * `--clusters N` sizes the convergence run and the fleet run at `--speed N` (default 600);
 * `--latency-paths watch` (or `poll`) runs one side of the latency A/B.
 */
import { DEFAULT_EMULATOR_BIN, startEmulator } from "../services/stack/emulator.js";
import { benchAuth } from "./auth.js";
import { benchConvergence } from "./convergence.js";
import { benchFleetSpeed } from "./fleet-speed.js";
import { benchReads } from "./reads.js";
import { benchReports } from "./reports.js";
import { benchSentinel } from "./sentinel.js";
import { benchLatency } from "./latency.js";

const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const clusters = args.includes("--clusters") ? Number(args[args.indexOf("--clusters") + 1]) : undefined;
const speed = args.includes("--speed") ? Number(args[args.indexOf("--speed") + 1]) : 600;
const only = args.includes("--only") ? args[args.indexOf("--only") + 1].split(",") : ["reports", "auth", "reads", "sentinel", "latency", "convergence", "fleet"];
process.env.METADATA_SERVER_DETECTION ??= "none";

console.log(`HyperFleet benchmarks${smoke ? " (smoke: toy sizes, figures not meaningful)" : ""} — ${new Date().toISOString()}, node ${process.version}`);
let emulatorHost = process.env.PUBSUB_EMULATOR_HOST;
const emulator = emulatorHost ? undefined : await startEmulator(DEFAULT_EMULATOR_BIN, 8085, () => undefined);
emulatorHost ??= emulator!.host;
process.env.PUBSUB_EMULATOR_HOST = emulatorHost;
try {
  if (only.includes("reports")) await benchReports(smoke ? { clusters: 200, seconds: 1, concurrency: 4 } : { clusters: 10_000, seconds: 15, concurrency: 16 });
  if (only.includes("auth")) await benchAuth(smoke ? { clusters: 200, seconds: 1, concurrency: 4, rounds: 2 } : { clusters: 10_000, seconds: 5, concurrency: 16, rounds: 12 });
  if (only.includes("reads")) await benchReads(smoke ? { clusters: 500, seconds: 1, concurrency: 4 } : { clusters: 100_000, seconds: 10, concurrency: 16 });
  if (only.includes("sentinel")) await benchSentinel({ sizes: smoke ? [200] : [1_000, 10_000, 100_000], emulatorHost });
  if (only.includes("latency")) {
    // The A/B of the watch: the poll alone (WATCH=false, as before issue 20), then the watch.
    // `--latency-paths watch` runs the watch alone (the A/B of one change against another).
    const paths = args.includes("--latency-paths") ? args[args.indexOf("--latency-paths") + 1].split(",") : ["poll", "watch"];
    for (const watch of [false, true].filter((w) => paths.includes(w ? "watch" : "poll"))) await benchLatency(smoke ? { creates: 5, warmup: 2, perSecond: 5, watch, idleSeconds: 1 } : { creates: 1000, warmup: 100, perSecond: 10, watch, idleSeconds: 30 });
  }
  if (only.includes("convergence")) await benchConvergence({ clusters: clusters ?? (smoke ? 5 : 1000) });
  if (only.includes("fleet")) await benchFleetSpeed({ clusters: clusters ?? (smoke ? 5 : 1000), speed });
} finally {
  await emulator?.stop();
}
