/** Starts the legitimate client process (legit-client-main.ts) and reads its calls back by time window. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

interface Call {
  startedAt: number;
  ms: number;
  outcome: string;
}

export interface LegitStats {
  calls: number;
  failures: number;
  p99Ms: number;
}

export interface LegitClient {
  /** Calls started between `from` and `to` (ms since the epoch). */
  stats(from: number, to: number): LegitStats;
  /** Resolves once a call has succeeded (the client is up and the API answers it). */
  ready(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL("./legit-client-main.ts", import.meta.url));

export function startLegitClient(apiUrl: string, clusterId: string): LegitClient {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, apiUrl, clusterId], { env, stdio: ["pipe", "pipe", "inherit"] });
  const calls: Call[] = [];
  let partial = "";
  child.stdout!.on("data", (b: Buffer) => {
    const lines = (partial + b.toString()).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      const [startedAt, ms, outcome] = line.split(" ");
      calls.push({ startedAt: Number(startedAt), ms: Number(ms), outcome });
    }
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    stats(from, to) {
      const within = calls.filter((c) => c.startedAt >= from && c.startedAt <= to);
      const latencies = within.map((c) => c.ms).sort((a, b) => a - b);
      const p99Ms = latencies.length === 0 ? NaN : latencies[Math.min(latencies.length - 1, Math.ceil(0.99 * latencies.length) - 1)];
      return { calls: within.length, failures: within.filter((c) => c.outcome !== "ok").length, p99Ms };
    },
    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!calls.some((c) => c.outcome === "ok")) {
        if (Date.now() > deadline) throw new Error(`the legitimate client had no successful call within ${timeoutMs} ms: ${JSON.stringify(calls.slice(-5))}`);
        if (child.exitCode !== null) throw new Error("the legitimate client exited");
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
