/**
 * Watching a process a test started: its output, the lines it prints, when it exits, and whether the
 * ports it used are free again. For the lifecycle suites (npm start, a service's shutdown).
 */
import type { ChildProcess } from "node:child_process";
import net from "node:net";

export interface WatchedChild {
  child: ChildProcess;
  output(): string;
  /** The first match of `pattern` in the output so far or to come; rejects after `timeoutMs` with the output's tail. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Its exit code and signal, once it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Ms from the call until it exits; rejects after `timeoutMs`. */
  exitWithin(timeoutMs: number): Promise<number>;
}

export function watchChild(child: ChildProcess): WatchedChild {
  let output = "";
  const listeners = new Set<() => void>();
  const onData = (b: Buffer) => {
    output += b.toString();
    for (const l of listeners) l();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const tail = () => output.slice(-4000);
  return {
    child,
    output: () => output,
    exited,
    waitFor(pattern, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = output.match(pattern);
          if (!m) return;
          done();
          resolve(m);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} in the output within ${timeoutMs} ms:\n${tail()}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async exitWithin(timeoutMs) {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still running ${timeoutMs} ms later:\n${tail()}`)), timeoutMs);
      });
      try {
        await Promise.race([exited, late]);
        return Date.now() - started;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** True when nothing listens on 127.0.0.1:`port` (it can be listened on now). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer().once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/**
 * A peer that accepts connections and never answers, like a network that drops every packet: a
 * caller finds out only by its own timeouts. Counts the connections it has taken.
 */
export async function startBlackHole(): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
