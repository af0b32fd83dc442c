/** The hf CLI's entry: process arguments, environment and streams in, exit code out. */
import { run } from "./run.js";

const ctrl = new AbortController();
process.on("SIGINT", () => ctrl.abort());
process.exitCode = await run(process.argv.slice(2), process.env, {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
  isTTY: process.stdout.isTTY === true,
  signal: ctrl.signal,
});
