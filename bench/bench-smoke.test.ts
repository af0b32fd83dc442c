/**
 * Keeps the benchmarks from rotting: each runs at a toy size and must print its table. Timings are
 * not judged here (speed targets live in the benchmarks' own output and docs/benchmarks.md).
 *
 * @requires pubsub pgbench
 */
import { execFile } from "node:child_process";

test("npm run bench -- --smoke runs every benchmark and prints its figures", async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, ["--import", "tsx", "bench/run.ts", "--smoke"], { env: process.env, timeout: 400_000, maxBuffer: 10 * 1024 * 1024 }, (err, out, errOut) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: out, stderr: errOut }),
    ),
  );
  expect({ code, stderr: code ? stderr.slice(-2000) : "" }).toEqual({ code: 0, stderr: "" });
  for (const title of ["ReportStatus:", "Reads over", "Sentinel: one poll", "Fleet convergence:", "Per process: peak RSS", "Fleet at --speed", "late cluster: first event published"]) expect(stdout).toContain(title);
  expect(stdout).toMatch(/API ReportStatus, lean load generator\s+[\d.]+/);
  // Every call of the raw-frames caller must have been answered stored (its errors column is 0).
  expect(stdout).toMatch(/API ReportStatus, raw HTTP\/2 frames\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+0\s/);
  expect(stdout).toMatch(/API \/ pgbench = [\d.]+%/);
}, 420_000);
