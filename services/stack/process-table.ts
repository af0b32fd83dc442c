import { existsSync, readdirSync, readFileSync } from "node:fs";

/** One row of Linux's process table (/proc/<pid>/stat). */
interface ProcessRow {
  pid: number;
  ppid: number;
  pgid: number;
  /** R, S, D, ... Z (exited, not yet reaped). */
  state: string;
}

const hasProcfs = () => existsSync("/proc/self/stat");

function readRow(pid: number): ProcessRow | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: the fields start after the last ")".
    const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pid, ppid: Number(ppid), pgid: Number(pgid), state };
  } catch {
    return undefined;
  }
}

function readTable(): ProcessRow[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readRow(Number(name)))
    .filter((row): row is ProcessRow => row !== undefined);
}

const running = (row: ProcessRow | undefined) => row !== undefined && row.state !== "Z" && row.state !== "X";

function signalZero(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * True while `pid` runs. A zombie does not: an orphan is reaped by whatever init the machine has, and
 * some (a container's, a VM's agent) never reap, which kill(pid, 0) cannot tell from running.
 */
export function isRunning(pid: number): boolean {
  return hasProcfs() ? running(readRow(pid)) : signalZero(pid);
}

/** True while any process of group `pgid` runs (zombies aside, as in isRunning). */
export function groupRunning(pgid: number): boolean {
  return hasProcfs() ? readTable().some((row) => row.pgid === pgid && running(row)) : signalZero(-pgid);
}

/** The running descendants of `pid` (Linux; empty elsewhere). */
export function descendantsOf(pid: number): number[] {
  if (!hasProcfs()) return [];
  const table = readTable().filter(running);
  const found: number[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    const next = table.filter((row) => frontier.includes(row.ppid)).map((row) => row.pid);
    found.push(...next);
    frontier = next;
  }
  return found;
}

/** Resolves true once `done()` holds, or false after `timeoutMs`; checks every 50 ms. */
export async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
