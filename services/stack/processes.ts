import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { createInterface } from "node:readline";

/** One service of the local stack, run as a child process. */
export interface ProcessSpec {
  name: string;
  /** The service's entry module, run with `node --import tsx`. */
  entry: string;
  env: Record<string, string>;
  /** Ready once this port accepts connections. */
  readyPort: number;
  /** Printed once ready. */
  endpoints: string[];
}

export interface RunningProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/**
 * Node flags for every service: a heap budget, then HYPERFLEET_NODE_ARGS (e.g. --cpu-prof, which
 * NODE_OPTIONS refuses). A --max-old-space-size in either of those replaces the budget. Under load V8 let each
 * service's old space fill with garbage up to 150-190 MB before collecting it (live heaps measured
 * 25-70 MB), so adapters peaked at 300-370 MB RSS; with a 192 MB budget they stay under 200 MB.
 */
export function serviceNodeArgs(env: Record<string, string | undefined>): string[] {
  const extra = (env.HYPERFLEET_NODE_ARGS ?? "").split(" ").filter(Boolean);
  // A budget the operator already set (here or in NODE_OPTIONS, which a command-line flag would override) stands.
  const own = [...extra, ...(env.NODE_OPTIONS ?? "").split(" ")].some((a) => a.startsWith("--max-old-space-size"));
  return [...(own ? [] : [`--max-old-space-size=${HEAP_BUDGET_MB}`]), ...extra];
}

/** The old-space budget of each service npm start runs, in MB. */
export const HEAP_BUDGET_MB = 192;

const COLORS = [36, 33, 35, 32, 34, 91, 92, 93, 94];

/** How the stack starts its children. */
export interface StartOptions {
  /** Prefix lines with colours. */
  tty: boolean;
  /** Compiled bundles by entry module; an entry without one runs through tsx. */
  bundles: Record<string, string>;
  /** Node flags for every child (serviceNodeArgs). */
  nodeArgs: string[];
  /** The environment every child inherits, under its spec's own. */
  env: Record<string, string | undefined>;
}

/**
 * Starts a child with its stdout/stderr prefixed by its name, one line at a time. With a compiled
 * bundle for the entry it runs on plain node, otherwise through tsx.
 */
export function startProcess(spec: ProcessSpec, index: number, opts: StartOptions): RunningProcess {
  const { tty, bundles, nodeArgs } = opts;
  const bundle = bundles[spec.entry];
  const child = spawn(process.execPath, [...nodeArgs, ...(bundle ? [bundle] : ["--import", "tsx", spec.entry])], {
    env: { ...opts.env, ...spec.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const label = spec.name.padEnd(12);
  const prefix = tty ? `\x1b[${COLORS[index % COLORS.length]}m${label}\x1b[0m| ` : `${label}| `;
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on("line", (line) => process.stdout.write(`${prefix}${line}\n`));
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { name: spec.name, child, exited };
}

/** Resolves once `port` accepts a TCP connection; rejects after `timeoutMs` or if the process exits first. */
export async function waitForPort(port: number, proc: RunningProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void proc.exited.then(() => (dead = true));
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${proc.name} exited before it was ready`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => { s.destroy(); resolve(true); });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${proc.name} did not listen on ${port} within ${timeoutMs} ms`);
}

/** SIGTERM to every child at once, SIGKILL to any still running after `graceMs`. */
export async function stopAll(procs: RunningProcess[], graceMs = 10_000): Promise<void> {
  await Promise.all(
    procs.map(async (p) => {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGTERM");
      const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
      await p.exited;
      clearTimeout(timer);
    }),
  );
}
