#!/usr/bin/env node
// The hf CLI: registers tsx (the package ships TypeScript) and runs main.ts.
import { register } from "tsx/esm/api";

register();
const { run } = await import("./main.ts");
const ctrl = new AbortController();
process.on("SIGINT", () => ctrl.abort());
process.exitCode = await run(process.argv.slice(2), process.env, {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
  isTTY: process.stdout.isTTY === true,
  signal: ctrl.signal,
});
