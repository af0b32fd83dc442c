/**
 * `npm start`: the whole local system in one command, each service a child process with prefixed
 * logs. Ctrl-C / SIGTERM stops everything it started.
 */
import { startProcess, stopAll, waitForPort, type ProcessSpec, type RunningProcess } from "./processes.js";

const env = process.env;
const apiPort = Number(env.API_PORT ?? 8000);
const specs: ProcessSpec[] = [
  {
    name: "api",
    entry: "services/api/main.ts",
    env: { API_PORT: String(apiPort) },
    readyPort: apiPort,
    endpoints: [`API          http://127.0.0.1:${apiPort}  (Connect, gRPC, gRPC-Web; metrics :${env.API_METRICS_PORT ?? 9000}/metrics)`],
  },
];

const running: RunningProcess[] = [];
let stopping = false;

async function shutdown(code: number): Promise<never> {
  stopping = true;
  await stopAll(running);
  process.exit(code);
}

process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  for (const [i, spec] of specs.entries()) {
    const proc = startProcess(spec, i, process.stdout.isTTY === true);
    running.push(proc);
    void proc.exited.then((code) => {
      if (!stopping) {
        console.error(`${spec.name} exited (${code}); stopping the stack`);
        void shutdown(1);
      }
    });
    await waitForPort(spec.readyPort, proc);
  }
  console.log(["", "HyperFleet is running:", ...specs.flatMap((s) => s.endpoints.map((e) => `  ${e}`)), "Press Ctrl-C to stop.", ""].join("\n"));
} catch (err) {
  console.error(String(err instanceof Error ? err.message : err));
  await shutdown(1);
}
