/**
 * The chaos suite at CI's size, on both brokers (scenario.ts says what a run does): a rollout of
 * CHAOS_CLUSTERS clusters (default 50) over 50 s while each adapter, the API and the cluster Sentinel are
 * killed with SIGKILL, Postgres is killed and started again and the broker is restarted. Fails on any
 * failing invariant, with the run's tables in the message. A slow suite (test/support/run-jest.mjs):
 * about 3 minutes for both brokers; `npm run chaos` runs it at 200 clusters.
 */
import { parseChaosArgs, report } from "./run.js";
import { runScenario, type BrokerKind } from "./scenario.js";
import { requires } from "../support/requirements.js";

const opts = parseChaosArgs([], { CHAOS_CLUSTERS: process.env.CHAOS_CLUSTERS ?? "50" });
const WINDOW_MS = 50_000;
const CONVERGE_MS = 90_000;

// Each broker's run is skipped on a machine without that broker (npm test says how to get it).
for (const broker of ["pubsub", "rabbitmq"] satisfies BrokerKind[]) {
  requires(broker)(`chaos on ${broker}: every invariant holds through kill -9 of every service, a Postgres crash and a broker restart`, async () => {
    const r = await runScenario({ ...opts, broker, windowMs: WINDOW_MS, convergeTimeoutMs: CONVERGE_MS, log: (line) => process.stdout.write(`chaos | ${line}\n`) });
    const text = report(r);
    process.stdout.write(`${text}\n`);
    const failed = r.checks.filter((c) => !c.ok);
    if (failed.length) {
      const stackTail = r.stackLog.split("\n").filter((l) => l.startsWith("stack ") || l.includes('"level":50') || l.includes('"level":60')).slice(-40).join("\n");
      throw new Error(`${text}\n\nthe stack's own lines and errors (last 40):\n${stackTail}`);
    }
  }, WINDOW_MS + CONVERGE_MS + 120_000);
}
