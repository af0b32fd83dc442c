/**
 * `npm run chaos`: a rollout of clusters under faults on the whole stack, on Pub/Sub and then RabbitMQ
 * (run.ts says the flags). Prints, per broker, the faults with their time to recover and the invariants;
 * exits 1 when any invariant fails, 2 on bad flags.
 */
import { parseChaosArgs, runChaos, UsageError } from "./run.js";

process.env.METADATA_SERVER_DETECTION ??= "none";

async function main(): Promise<number> {
  let opts;
  try {
    opts = parseChaosArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const help = err.message.startsWith("usage:");
    (help ? console.log : console.error)(err.message);
    return help ? 0 : 2;
  }
  const results = await runChaos(opts, (text) => console.log(text));
  const failed = results.filter((r) => !r.ok).map((r) => r.broker);
  console.log(failed.length ? `\nchaos: invariants failed on ${failed.join(" and ")}` : `\nchaos: clean on ${results.map((r) => r.broker).join(" and ")}`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
