import { Worker } from "node:worker_threads";
import type { Logger } from "./log.js";
import { parentGone, watchParent } from "./parent-watch.js";

/**
 * One step of a service's shutdown. A plain function is named in logs by its source text
 * (`() => consumer.close()`), which says what it waits for; give a name where it would not.
 */
export type ShutdownStep = (() => unknown) | { name: string; run: () => unknown };

/**
 * How long a shutdown may take before the process exits anyway: a step can wait on what is gone (a
 * consumer draining an event whose API call hangs, a broker client flushing acks to a dead emulator).
 * Under npm start's 10 s SIGKILL, so the service itself says what was pending.
 */
export const SHUTDOWN_DEADLINE_MS = 8000;

export interface ShutdownOptions {
  deadlineMs?: number;
  /** For tests: called instead of exiting the process (and no backstop thread is started). */
  exit?: (code: number) => void;
}

/** How long after the deadline the backstop thread kills a process whose main thread never got there. */
const BACKSTOP_AFTER_DEADLINE_MS = 1000;

/**
 * A thread that SIGKILLs this process `ms` from now unless it has exited by then. The deadline's timer
 * cannot fire while the main thread is stuck in a synchronous loop, nor can signal handlers run: pino's
 * exit-time flush once retried a write to a closed stdout forever, so an orphaned service ignored every
 * SIGTERM. This thread runs regardless.
 */
function startBackstop(ms: number, message: string): void {
  const code = `setTimeout(() => {
    const line = JSON.stringify({ level: 60, time: new Date().toISOString(), msg: ${JSON.stringify(message)} });
    try { require("node:fs").writeSync(2, line + "\\n"); } catch {}
    process.kill(process.pid, "SIGKILL");
  }, ${ms});`;
  // No --import of the service's (tsx, the lifeline) in this thread.
  new Worker(code, { eval: true, execArgv: [] }).unref();
}

/**
 * Ends the process. An orphan (its parent gone, as when npm start is SIGKILLed) ends with SIGKILL: no
 * one waits for its exit code or reads its output, and a normal exit would run pino's exit-time flush,
 * which retries a write to the closed stdout forever (sonic-boom's flushSync retries every error).
 */
function endProcess(code: number): void {
  // How one adapter outlived its stack by 49 minutes, deaf to SIGTERM: its main thread was in that loop.
  if (parentGone()) process.kill(process.pid, "SIGKILL");
  else process.exit(code);
}

export interface Shutdown {
  /**
   * Runs the steps in order, once: a later call (a second signal, the parent going away meanwhile)
   * joins the shutdown in progress. Exits 0 when the steps are done, or 1 at the deadline.
   */
  run(reason: string): Promise<void>;
  /** The step being waited for, if a shutdown is in progress. */
  pending(): string | undefined;
}

const stepName = (step: ShutdownStep) =>
  typeof step === "function" ? step.name || String(step).replace(/\s+/g, " ").slice(0, 80) : step.name;

export function createShutdown(log: Logger, steps: ShutdownStep[], opts: ShutdownOptions = {}): Shutdown {
  const deadlineMs = opts.deadlineMs ?? SHUTDOWN_DEADLINE_MS;
  let exited = false;
  const exit = (code: number) => {
    if (exited) return;
    exited = true;
    (opts.exit ?? endProcess)(code);
  };
  let pending: string | undefined;
  let running: Promise<void> | undefined;
  const run = (reason: string): Promise<void> => {
    if (running) {
      log.info({ reason, waitingFor: pending }, "already shutting down");
      return running;
    }
    log.info({ reason, deadlineMs }, "shutting down");
    if (!opts.exit) startBackstop(deadlineMs + BACKSTOP_AFTER_DEADLINE_MS, `shutdown (${reason}) still running ${deadlineMs + BACKSTOP_AFTER_DEADLINE_MS} ms on, its main thread stuck: SIGKILL`);
    const deadline = setTimeout(() => {
      log.error({ pending, deadlineMs }, `shutdown did not finish within ${deadlineMs} ms; exiting while waiting for: ${pending}`);
      exit(1);
    }, deadlineMs);
    running = (async () => {
      for (const step of steps) {
        pending = stepName(step);
        try {
          await (typeof step === "function" ? step() : step.run());
        } catch (err) {
          log.warn({ err: String(err), step: pending }, "shutdown step failed");
        }
      }
      pending = undefined;
      clearTimeout(deadline);
      if (!exited) log.info("stopped");
      exit(0);
    })();
    return running;
  };
  return { run, pending: () => pending };
}

/**
 * Shuts the service down on SIGTERM, SIGINT or when its parent goes away: `steps` in order (stop intake
 * first, then servers, then connections), within `deadlineMs`. Each service's main.ts lists its steps.
 */
export function onShutdown(log: Logger, steps: ShutdownStep[], opts: ShutdownOptions = {}): Shutdown {
  const shutdown = createShutdown(log, steps, opts);
  process.on("SIGTERM", () => void shutdown.run("SIGTERM"));
  process.on("SIGINT", () => void shutdown.run("SIGINT"));
  watchParent(() => void shutdown.run("parent exited"));
  return shutdown;
}
