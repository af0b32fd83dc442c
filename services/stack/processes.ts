import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { createInterface } from "node:readline";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** Preloaded into every service (see lifeline.ts). */
export const LIFELINE_ENTRY = "services/stack/lifeline.ts";

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
  /** Stopped only once every other service has exited (the stack's own Postgres: the API writes until it stops). */
  stopLast?: boolean;
}

/** How a process ended: its exit code, or the signal that ended it. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<ExitStatus>;
}

/** "code 1" or "signal SIGKILL", for logs. */
export function describeExit(exit: ExitStatus): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
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
  const given = [...extra, ...(env.NODE_OPTIONS ?? "").split(" ")];
  const own = (flag: string) => given.some((a) => a.startsWith(flag));
  return [
    ...(own("--max-old-space-size") ? [] : [`--max-old-space-size=${HEAP_BUDGET_MB}`]),
    // Node 24's V8 sizes the young generation from the heap limit: under a 192 MB budget it stayed so
    // small that short-lived request objects were promoted and collected by full GCs, which took a third
    // of each adapter's CPU (300-cluster convergence: adapters 4.9-6.1 CPU s, 3.0-3.3 with this, as Node 20).
    ...(own("--max-semi-space-size") ? [] : [`--max-semi-space-size=${SEMI_SPACE_MB}`]),
    ...extra,
  ];
}

/** The old-space budget of each service npm start runs, in MB. */
export const HEAP_BUDGET_MB = 192;
/** V8's young-generation semi-space for every service (serviceNodeArgs). */
export const SEMI_SPACE_MB = 16;

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
 * The node arguments that run a service: its flags, the lifeline (which stops it if the stack dies while
 * it starts), then its compiled bundle, or its TypeScript through tsx when it has none.
 */
export function serviceArgs(entry: string, bundles: Record<string, string>, nodeArgs: string[]): string[] {
  const bundle = bundles[entry];
  const lifeline = pathToFileURL(resolve(bundles[LIFELINE_ENTRY] ?? LIFELINE_ENTRY)).href;
  return bundle ? [...nodeArgs, "--import", lifeline, bundle] : [...nodeArgs, "--import", "tsx", "--import", lifeline, entry];
}

/**
 * glibc's malloc arenas for every service unless the environment sets its own (the Dockerfile sets the
 * same). By default glibc gives each thread that allocates (V8's compiler and GC workers, libuv's pool)
 * an arena of its own, up to eight per core, and memory freed in one is not returned: with two,
 * every process's peak RSS in the 10,000-cluster run was 5-38 MB lower, and time and CPU did not move
 * (two alternating pairs, docs/decisions/performance.md). Other C libraries ignore it.
 */
export const MALLOC_ARENAS = "2";

/** The environment of a service: the stack's, MALLOC_ARENA_MAX unless it has one, then the spec's own. */
export function serviceEnv(env: Record<string, string | undefined>, own: Record<string, string> = {}): Record<string, string | undefined> {
  return { MALLOC_ARENA_MAX: MALLOC_ARENAS, ...env, ...own };
}

/**
 * Starts a child with its stdout/stderr prefixed by its name, one line at a time. With a compiled
 * bundle for the entry it runs on plain node, otherwise through tsx.
 */
export function startProcess(spec: ProcessSpec, index: number, opts: StartOptions): RunningProcess {
  const { tty, bundles, nodeArgs } = opts;
  const child = spawn(process.execPath, serviceArgs(spec.entry, bundles, nodeArgs), {
    env: serviceEnv(opts.env, spec.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const label = spec.name.padEnd(12);
  const prefix = tty ? `\x1b[${COLORS[index % COLORS.length]}m${label}\x1b[0m| ` : `${label}| `;
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on("line", (line) => process.stdout.write(`${prefix}${line}\n`));
  }
  const exited = new Promise<ExitStatus>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return { name: spec.name, child, exited };
}

/** True until the process has exited. */
export const isRunningProcess = (p: RunningProcess): boolean => p.child.exitCode === null && p.child.signalCode === null;

/** Resolves once `port` accepts a TCP connection; rejects after `timeoutMs` or if the process exits first. */
export async function waitForPort(port: number, proc: RunningProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunningProcess(proc)) throw new Error(`${proc.name} exited before it was ready`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => { s.destroy(); resolve(true); });
      s.once("error", () => resolve(false));
    });
    if (ok && isRunningProcess(proc)) return;
    // Each start wave waits on this: a long pause here is added to the time to the banner, once a wave.
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${proc.name} did not listen on ${port} within ${timeoutMs} ms`);
}

/**
 * SIGTERM, then SIGKILL if it still runs after `graceMs` (every service bounds its own shutdown below
 * that, so this is for one that hangs outright). Resolves once it has exited, or 2 s after the SIGKILL.
 */
export async function stopProcess(p: RunningProcess, graceMs = 10_000): Promise<void> {
  if (!isRunningProcess(p)) return;
  p.child.kill("SIGTERM");
  const within = (ms: number) => Promise.race([p.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
  if (await within(graceMs)) return;
  p.child.kill("SIGKILL");
  await within(2000);
}
