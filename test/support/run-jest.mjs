// Runs jest in native ESM mode, then prints the plain closing line CI reads ("N passed, N failed"),
// keeping jest's exit code. Extra arguments go to jest (npm test -- services/api).
// With no arguments it runs two phases: every suite but the hostile-input one (two workers), then the
// hostile-input suite alone, because it judges a legitimate client's latency while it attacks the
// services, which other suites sharing the two cores would make meaningless.
// Before the first phase it gets the run what it needs once (test-services.ts: Postgres, the Pub/Sub
// emulator, which other requirements the machine has), stops what it started after the last, and prints
// one line per missing requirement (what it skipped, how to get it) just before the closing line.
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tsImport } from "tsx/esm/api";

const jestBin = join(process.cwd(), "node_modules", "jest", "bin", "jest.js");
const ALONE = "test/hostile/hostile.test.ts";
// Whole stacks started, crashed and interrupted at several moments (about 4 minutes), and the chaos
// suite on both brokers (about 3 minutes): run in CI, and locally with HYPERFLEET_SLOW_TESTS=1, so that
// the everyday `npm test` stays under 3 minutes.
const SLOW = ["services/stack/stack-lifecycle.test.ts", "services/shared/shutdown-process.test.ts", "test/chaos/chaos.test.ts"];
const slow = process.env.CI === "true" || process.env.HYPERFLEET_SLOW_TESTS === "1";

async function runJest(args, phase) {
  const out = join(tmpdir(), `hyperfleet-jest-${process.pid}-${phase}.json`);
  // Not spawnSync: this process must keep reading the emulator it started (a full pipe would stall it).
  const child = spawn(process.execPath, [jestBin, "--json", `--outputFile=${out}`, ...args], {
    stdio: "inherit",
    // METADATA_SERVER_DETECTION=none: no GCE metadata probing (and its warnings) when talking to the emulator.
    env: { METADATA_SERVER_DETECTION: "none", ...process.env, ...services.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --experimental-vm-modules`.trim() },
  });
  const result = await new Promise((resolve) => child.on("exit", (status, signal) => resolve({ status: status ?? (signal ? 1 : 0) })));
  const counts = { passed: 0, failed: 0, skipped: 0, status: result.status ?? 1 };
  try {
    const summary = JSON.parse(readFileSync(out, "utf8"));
    counts.passed = summary.numPassedTests;
    counts.failed = summary.numFailedTests + (summary.numRuntimeErrorTestSuites ?? 0);
    counts.skipped = summary.numPendingTests + summary.numTodoTests;
    rmSync(out, { force: true });
  } catch {
    counts.failed = Math.max(counts.failed, 1);
  }
  return counts;
}

const { prepareTestServices } = await tsImport("./test-services.ts", import.meta.url);
let services;
try {
  services = await prepareTestServices();
} catch (err) {
  console.error(`\n${err.message}`);
  console.log("0 passed, 1 failed, 0 skipped");
  process.exit(1);
}
// Jest's global setup finds this and leaves the services alone.
services.env.HYPERFLEET_TEST_SERVICES = "ready";

const args = process.argv.slice(2);
const phases = [];
try {
  if (args.length > 0) phases.push(await runJest(args, "args"));
  else {
    phases.push(await runJest(["--testPathIgnorePatterns", ALONE, ...SLOW], "all"));
    phases.push(await runJest([ALONE], "alone"));
    if (slow) phases.push(await runJest(SLOW, "slow"));
  }
} finally {
  await services.stop();
}
for (const line of services.lines) console.log(line);
if (args.length === 0 && !slow) console.log(`(skipped the slow stack suites: ${SLOW.join(", ")}; HYPERFLEET_SLOW_TESTS=1 runs them)`);
const total = phases.reduce((a, p) => ({ passed: a.passed + p.passed, failed: a.failed + p.failed, skipped: a.skipped + p.skipped, status: a.status || p.status }), { passed: 0, failed: 0, skipped: 0, status: 0 });
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.status);
