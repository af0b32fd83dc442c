import type { Logger } from "./log.js";
import { watchParent } from "./parent-watch.js";

/**
 * Runs `steps` in order once on SIGTERM, SIGINT or when the parent process goes away, logs, and exits 0.
 * Each service's main.ts lists what to stop (stop intake first, then servers, then connections).
 */
export function onShutdown(log: Logger, steps: (() => Promise<unknown> | unknown)[]): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        log.warn({ err: String(err) }, "shutdown step failed");
      }
    }
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  watchParent(() => void shutdown("parent exited"));
}
