/**
 * `npm start` itself, on free ports: Ctrl-C at several moments of its startup leaves no process and no
 * port behind; a crashed service is restarted, and a crash loop stops the stack; a third Ctrl-C kills
 * what a graceful stop is still waiting for. The API runs on the stack's own Postgres (npm start's
 * default, in a temporary data directory), whose processes must be gone too; one test runs it on PGlite.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_EMULATOR_BIN } from "./emulator.js";
import { descendantsOf, groupRunning, isRunning, waitUntil } from "./process-table.js";
import { portIsFree, watchChild, type WatchedChild } from "../../test/support/child-process.js";

interface StackRun {
  stack: WatchedChild;
  pid: number;
  ports: number[];
  buildDir: string;
  /** Every process seen below the stack while it ran. */
  seen: Set<number>;
  /** The own Postgres's parent directory (removed afterwards). */
  pgParent: string;
  /** Waits for the stack to exit, then for everything it started to be gone and its ports free. */
  nothingLeft(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Each service's pid, from the line the stack prints once it is up. */
  pids(): Promise<Record<string, number>>;
}

const runs: StackRun[] = [];
afterEach(() => {
  // A failed test must not leave a stack behind for the next.
  for (const run of runs.splice(0)) {
    for (const pid of [run.pid, ...run.seen]) if (isRunning(pid)) process.kill(pid, "SIGKILL");
    rmSync(run.buildDir, { recursive: true, force: true });
    rmSync(run.pgParent, { recursive: true, force: true });
  }
});

/** A base port B with B..B+3, B+11..B+14, B+20, B+21 and 1000 above the adapters' and Sentinels' free. */
async function freePorts(): Promise<{ base: number; all: number[] }> {
  for (;;) {
    // Below Linux's ephemeral range, so no outgoing connection takes one between the check and the listen.
    const base = 20000 + Math.floor(Math.random() * 9000);
    const all = [0, 1, 2, 3, 11, 12, 13, 14, 20, 21, 1011, 1012, 1013, 1014, 1020, 1021].map((o) => base + o);
    if ((await Promise.all(all.map(portIsFree))).every(Boolean)) return { base, all };
  }
}

async function startStack(opts: { ownEmulator?: boolean; database?: "postgres" | "pglite" } = {}): Promise<StackRun> {
  const { base, all } = await freePorts();
  const namespace = `life${Date.now().toString(36)}`;
  const buildDir = `.hyperfleet/build-${namespace}`;
  // Searchable by the user Postgres runs as when the test runs as root (postgres-binaries.ts).
  const pgParent = mkdtempSync(join(tmpdir(), "hf-life-pg-"));
  chmodSync(pgParent, 0o755);
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of ["NODE_OPTIONS", "KUBECONFIG", "DATABASE_URL", "BROKER", "RABBITMQ_URL", ...(opts.ownEmulator ? ["PUBSUB_EMULATOR_HOST"] : [])]) delete env[k];
  Object.assign(env, {
    API_PORT: String(base),
    API_METRICS_PORT: String(base + 1),
    KUBE_STANDIN_PORT: String(base + 2),
    PUBSUB_EMULATOR_PORT: String(base + 3),
    ADAPTER_PORT_BASE: String(base + 10),
    SENTINEL_PORT: String(base + 20),
    TOPIC_NAMESPACE: namespace,
    HYPERFLEET_BUILD_DIR: buildDir,
    HYPERFLEET_AUTH_DIR: `${buildDir}/auth`,
    HF_CREDENTIALS: `${buildDir}/auth/credentials.json`,
    HYPERFLEET_DATABASE: opts.database ?? "postgres",
    HYPERFLEET_DATA_DIR: "memory",
    HYPERFLEET_POSTGRES_DIR: join(pgParent, "data"),
    LOG_LEVEL: "info",
  });
  // Its own process group, as a shell gives a foreground job: SIGINT to the group is a terminal's Ctrl-C.
  const child = spawn(process.execPath, ["--import", "tsx", "services/stack/main.ts"], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const stack = watchChild(child);
  const pid = child.pid!;
  const seen = new Set<number>();
  const track = setInterval(() => descendantsOf(pid).forEach((p) => seen.add(p)), 100);
  void stack.exited.then(() => clearInterval(track));
  const run: StackRun = {
    stack,
    pid,
    ports: all,
    buildDir,
    seen,
    pgParent,
    async nothingLeft() {
      await stack.exitWithin(60_000);
      rmSync(buildDir, { recursive: true, force: true });
      rmSync(pgParent, { recursive: true, force: true });
      const alive = () => [...seen].filter(isRunning);
      await waitUntil(() => alive().length === 0, 15_000);
      expect(alive()).toEqual([]);
      const busy = async () => (await Promise.all(all.map(async (p) => ((await portIsFree(p)) ? [] : [p])))).flat();
      for (const deadline = Date.now() + 15_000; (await busy()).length > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 200));
      expect(await busy()).toEqual([]);
      return stack.exited;
    },
    async pids() {
      const line = (await stack.waitFor(/Process ids: (.*)\. A service/))[1];
      return Object.fromEntries(line.split(", ").map((p) => [p.split(" ")[0], Number(p.split(" ")[1])]));
    },
  };
  runs.push(run);
  return run;
}

const ctrlC = (run: StackRun) => process.kill(-run.pid, "SIGINT");

(existsSync(process.env.PUBSUB_EMULATOR_BIN ?? DEFAULT_EMULATOR_BIN) ? test : test.skip)(
  "Ctrl-C right after the Pub/Sub emulator spawns: the emulator is stopped too",
  async () => {
    const run = await startStack({ ownEmulator: true });
    const pgid = Number((await run.stack.waitFor(/Pub\/Sub emulator started \(process group (\d+)\)/))[1]);
    ctrlC(run);
    await run.nothingLeft();
    expect(groupRunning(pgid)).toBe(false);
    expect(run.stack.output()).not.toContain("HyperFleet is running");
  },
  180_000,
);

test("Ctrl-C while the stack's Postgres is initialised (first run): the Postgres is stopped too", async () => {
  const run = await startStack();
  await run.stack.waitFor(/postgres\s*\| first run: initdb/);
  ctrlC(run);
  await run.nothingLeft();
  expect(run.stack.output()).not.toContain("HyperFleet is running");
}, 180_000);

test("Ctrl-C while the API starts its database (PGlite) and migrates", async () => {
  const run = await startStack({ database: "pglite" });
  await run.stack.waitFor(/using embedded Postgres/);
  ctrlC(run);
  await run.nothingLeft();
  expect(run.stack.output()).not.toContain("HyperFleet is running");
}, 180_000);

test("Ctrl-C once everything is up: all stopped (the Postgres server and its backends too), exit 0", async () => {
  const run = await startStack();
  await run.stack.waitFor(/HyperFleet is running/);
  const postmaster = postgresProcesses(run);
  expect(postmaster.length).toBeGreaterThan(0);
  ctrlC(run);
  expect(await run.nothingLeft()).toEqual({ code: 0, signal: null });
  expect(postmaster.filter(isRunning)).toEqual([]);
  expect(run.stack.output()).not.toMatch(/restarting it/);
  // A fast shutdown once the API had stopped (the terminal's SIGINT to the group does not reach the postmaster), not a crash.
  const out = run.stack.output();
  expect(out).toMatch(/postgres\s*\|.*database system is shut down/);
  expect(out).not.toMatch(/smart shutdown request/);
  expect(out.search(/api\s*\|.*"msg":"stopped"/)).toBeGreaterThan(-1);
  expect(out.search(/api\s*\|.*"msg":"stopped"/)).toBeLessThan(out.search(/postgres\s*\|.*fast shutdown request/));
}, 180_000);

test("the Postgres server killed with -9 (postmaster and backends) is restarted on its data", async () => {
  const run = await startStack();
  await run.stack.waitFor(/HyperFleet is running/);
  const { postgres } = await run.pids();
  const postmaster = descendantsOf(postgres).filter((p) => commandOf(p).includes("postgres") && !commandOf(p).includes("sh"));
  for (const p of postmaster) process.kill(p, "SIGKILL");
  await run.stack.waitFor(/postgres is back \(pid \d+\)/);
  ctrlC(run);
  expect(await run.nothingLeft()).toEqual({ code: 0, signal: null });
}, 180_000);

/** The Postgres server's processes (postmaster and backends) below the stack now. */
function postgresProcesses(run: StackRun): number[] {
  return descendantsOf(run.pid).filter((p) => /^postgres/.test(commandOf(p)));
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0].split("/").pop() ?? "";
  } catch {
    return "";
  }
}

test("a service killed with -9 is restarted; five crashes within 60 s stop the stack", async () => {
  const run = await startStack();
  const { dns } = await run.pids();
  process.kill(dns, "SIGKILL");
  await run.stack.waitFor(/dns exited \(signal SIGKILL\); restarting it in 1 s \(restart 1;/);
  await run.stack.waitFor(/dns is back \(pid \d+\); restarts: dns 1/);
  expect(await portIsFree(run.ports[5])).toBe(false);
  expect(run.stack.child.exitCode).toBeNull();

  // Four more crashes, each as soon as it is restarted: a crash loop.
  const restarted = () => [...run.stack.output().matchAll(/dns restarted \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  for (let n = 1; n <= 4; n++) {
    if (n > 1) expect(await waitUntil(() => restarted().length >= n, 60_000)).toBe(true);
    process.kill(restarted()[n - 1], "SIGKILL");
  }
  await run.stack.waitFor(/dns crashed 5 times within 60 s \(last: signal SIGKILL\); it is crash-looping, stopping the stack/);
  expect(await run.nothingLeft()).toEqual({ code: 1, signal: null });
  expect(run.stack.output()).toMatch(/restarting it in 8 s \(restart 4;/);
}, 180_000);

test("a second Ctrl-C says what the stop waits for; a third kills it at once", async () => {
  const run = await startStack();
  const { kube } = await run.pids();
  // A stand-in that cannot stop: frozen, it ignores SIGTERM until it is killed.
  process.kill(kube, "SIGSTOP");
  process.kill(run.pid, "SIGINT");
  await run.stack.waitFor(/SIGINT: stopping every service/);
  process.kill(run.pid, "SIGINT");
  await run.stack.waitFor(/still stopping: waiting for [^\n]*kube/);
  process.kill(run.pid, "SIGINT");
  await run.stack.waitFor(/killing [^\n]*kube[^\n]* now/);
  expect(await run.nothingLeft()).toEqual({ code: 130, signal: null });
}, 180_000);

(existsSync(process.env.PUBSUB_EMULATOR_BIN ?? DEFAULT_EMULATOR_BIN) ? test : test.skip)(
  "the stack SIGKILLed: every service and the emulator exit within 10 s, though nothing reads their output any more",
  async () => {
    const run = await startStack({ ownEmulator: true });
    const pgid = Number((await run.stack.waitFor(/Pub\/Sub emulator started \(process group (\d+)\)/))[1]);
    const services = Object.values(await run.pids());
    process.kill(run.pid, "SIGKILL");
    const killed = Date.now();
    await waitUntil(() => !services.some(isRunning) && !groupRunning(pgid), 20_000);
    const took = Date.now() - killed;
    expect(services.filter(isRunning)).toEqual([]);
    expect(groupRunning(pgid)).toBe(false);
    expect(took).toBeLessThan(10_000);
    await run.nothingLeft();
  },
  180_000,
);
