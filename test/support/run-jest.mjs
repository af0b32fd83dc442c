// Runs jest in native ESM mode, then prints the plain closing line CI reads ("N passed, N failed"),
// keeping jest's exit code. Extra arguments go to jest (npm test -- services/api).
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const out = join(tmpdir(), `hyperfleet-jest-${process.pid}.json`);
const jestBin = join(process.cwd(), "node_modules", "jest", "bin", "jest.js");
const result = spawnSync(process.execPath, [jestBin, "--json", `--outputFile=${out}`, ...process.argv.slice(2)], {
  stdio: "inherit",
  // METADATA_SERVER_DETECTION=none: no GCE metadata probing (and its warnings) when talking to the emulator.
  env: { METADATA_SERVER_DETECTION: "none", ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --experimental-vm-modules`.trim() },
});
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const summary = JSON.parse(readFileSync(out, "utf8"));
  passed = summary.numPassedTests;
  failed = summary.numFailedTests + (summary.numRuntimeErrorTestSuites ?? 0);
  skipped = summary.numPendingTests + summary.numTodoTests;
  rmSync(out, { force: true });
} catch {
  failed = Math.max(failed, 1);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(result.status ?? 1);
