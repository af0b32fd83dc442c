/**
 * Options of a chaos run (flags and environment, pure), and the run on one or both brokers with its
 * printed report. Shared by `npm run chaos` (main.ts) and the CI test (chaos.test.ts).
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runScenario, type BrokerKind, type ScenarioResult } from "./scenario.js";
import { faultTable, invariantTable } from "./table.js";

export interface ChaosOptions {
  clusters: number;
  brokers: BrokerKind[];
  windowMs: number;
  convergeTimeoutMs: number;
  recoveryBoundMs: number;
  rssBudgetMb: number;
  seed?: number;
}

/**
 * Peak RSS budget per service process: npm start gives each a 192 MB old space and two 16 MB
 * semi-spaces; the 1,000-cluster convergence benchmark's target for every process is 250 MB
 * (docs/benchmarks.md), and a 200-cluster rollout under faults must stay within it too.
 */
export const DEFAULT_RSS_BUDGET_MB = 250;

/**
 * The rollout window grows with the fleet (creates come at about 5 a second over its first 60 %), and is
 * never under 60 s, so that the eight faults (spread over 10-80 % of it) are about 6 s apart or more.
 */
export function defaultWindowMs(clusters: number): number {
  return Math.max(60_000, Math.ceil(clusters / 5 / 0.6) * 1000);
}

const USAGE = `usage: npm run chaos -- [--clusters N] [--broker pubsub|rabbitmq|both] [--window SECONDS] [--converge SECONDS] [--recovery SECONDS] [--rss-budget MB] [--seed N]
  --clusters   clusters in the rollout (CHAOS_CLUSTERS, default 200)
  --broker     which broker(s) to run on, one after the other (CHAOS_BROKER, default both)
  --window     the rollout's length, over which creates, updates, deletes and faults are spread (default max(60, clusters / 3))
  --converge   how long the fleet may take to converge after the rollout (default 120)
  --recovery   how soon after it ends each fault must have recovered (default 30)
  --rss-budget peak RSS allowed each service process, MB (default ${DEFAULT_RSS_BUDGET_MB})
  --seed       the seed of the planned rollout (TEST_SEED; default random, printed)`;

export class UsageError extends Error {}

/** Flags over environment over defaults. */
export function parseChaosArgs(argv: string[], env: Record<string, string | undefined>): ChaosOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") throw new UsageError(USAGE);
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new UsageError(`unexpected argument ${a}\n${USAGE}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${m[1]} needs a value\n${USAGE}`);
    flags.set(m[1], value);
  }
  const known = ["clusters", "broker", "window", "converge", "recovery", "rss-budget", "seed"];
  for (const k of flags.keys()) if (!known.includes(k)) throw new UsageError(`unknown flag --${k}\n${USAGE}`);
  const positive = (name: string, raw: string | undefined, fallback: number) => {
    if (raw === undefined || raw === "") return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) <= 0) throw new UsageError(`--${name} must be a positive integer, not ${JSON.stringify(raw)}`);
    return Number(raw);
  };
  const clusters = positive("clusters", flags.get("clusters") ?? env.CHAOS_CLUSTERS, 200);
  const broker = flags.get("broker") ?? env.CHAOS_BROKER ?? "both";
  if (!["pubsub", "rabbitmq", "both"].includes(broker)) throw new UsageError(`--broker must be pubsub, rabbitmq or both, not ${JSON.stringify(broker)}`);
  const seedRaw = flags.get("seed") ?? env.TEST_SEED;
  return {
    clusters,
    brokers: broker === "both" ? ["pubsub", "rabbitmq"] : [broker as BrokerKind],
    windowMs: flags.has("window") ? positive("window", flags.get("window"), 0) * 1000 : defaultWindowMs(clusters),
    convergeTimeoutMs: positive("converge", flags.get("converge"), 120) * 1000,
    recoveryBoundMs: positive("recovery", flags.get("recovery"), 30) * 1000,
    rssBudgetMb: positive("rss-budget", flags.get("rss-budget"), DEFAULT_RSS_BUDGET_MB),
    seed: seedRaw === undefined ? undefined : positive("seed", seedRaw, 0),
  };
}

/** The printed report of one broker's run. */
export function report(r: ScenarioResult): string {
  return [
    "",
    `Chaos on ${r.broker}: ${r.clusters} clusters, seed ${r.seed}, ${(r.totalMs / 1000).toFixed(0)} s in all, ` +
      (r.convergedAfterMs === undefined ? "the fleet did NOT converge" : `the fleet converged ${(r.convergedAfterMs / 1000).toFixed(1)} s after the rollout`),
    "",
    faultTable(r.faults),
    "",
    invariantTable(r.checks),
    ...(r.diagnosis ? ["", "What the services said when the fleet had not converged:", r.diagnosis] : []),
    "",
    r.ok ? `${r.broker}: every invariant holds` : `${r.broker}: ${r.checks.filter((c) => !c.ok).length} invariant(s) FAILED`,
  ].join("\n");
}

/** Runs each broker in turn, printing as it goes; the stack's log of each run goes to a file named in the report. */
export async function runChaos(opts: ChaosOptions, print: (text: string) => void): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const broker of opts.brokers) {
    const r = await runScenario({ ...opts, broker, log: (line) => print(`chaos | ${line}`) });
    const logFile = join(tmpdir(), `hyperfleet-chaos-${broker}-${Date.now()}.log`);
    writeFileSync(logFile, r.stackLog);
    print(`${report(r)}\n(the stack's log: ${logFile})`);
    results.push(r);
  }
  return results;
}
