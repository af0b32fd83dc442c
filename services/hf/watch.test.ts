/**
 * `hf watch` through run(), as main.ts calls it, against a real API: the table follows the
 * WatchClusters stream (no polling), and survives the API restarting. hf reaches the API through a TCP
 * forwarder whose target moves to the restarted API's port, so hf's --api stays the same, as it would
 * for a user. The API wakes its watchers by LISTEN, as main.ts does on a Postgres server of its own.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { reportRequest } from "../../test/support/reports.js";
import { startApi, type TestApi } from "../../test/support/start-api.js";
import { startTcpProxy, type TcpProxy } from "../../test/support/tcp-proxy.js";
import { createTempDatabase, type TempDatabase } from "../../test/support/temp-database.js";
import { RENDER_GAP_MS } from "./commands/watch.js";
import { run } from "./run.js";

let temp: TempDatabase;
let api: TestApi;
let proxy: TcpProxy;
/** Where the forwarder sends new connections: moved when the API restarts on another port. */
const target = { host: "127.0.0.1", port: 0 };
let home: string;
let apiUrl: string;

beforeAll(async () => {
  temp = await createTempDatabase();
  api = await startApi({ databaseUrl: temp.url, listen: true });
  target.port = api.port;
  proxy = await startTcpProxy(target);
  apiUrl = `http://127.0.0.1:${proxy.port}`;
  home = mkdtempSync(join(tmpdir(), "hf-watch-"));
});
afterAll(async () => {
  await proxy?.close();
  await api?.close();
  await temp?.drop();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** `hf watch args` running in the background, not on a TTY: each printed table kept, stderr too. */
function watch(...args: string[]) {
  const ctrl = new AbortController();
  const tables: string[] = [];
  const errors: string[] = [];
  let wake = () => undefined as void;
  let exited = false;
  const done = run(["--api", apiUrl, "watch", ...args], { HOME: home, NO_COLOR: "1" }, {
    out: (s) => {
      tables.push(s);
      wake();
    },
    err: (s) => {
      errors.push(s);
      wake();
    },
    isTTY: false,
    signal: ctrl.signal,
  }).finally(() => {
    exited = true;
    wake();
  });
  /** Resolves once `pred` holds (checked at each output), failing after `ms` with what was printed. */
  const until = async (pred: () => boolean, ms = 10_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0 || exited) throw new Error(`${exited ? "hf watch exited" : `not in ${ms} ms`}; last table:\n${tables.at(-1) ?? "(none)"}\nstderr: ${errors.join("\n")}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  };
  return {
    tables,
    errors,
    latest: () => tables.at(-1) ?? "",
    /** The latest table's row for `name`, or undefined. */
    row: (name: string) => (tables.at(-1) ?? "").split("\n").find((l) => l.startsWith(`${name} `)),
    until,
    exit: () => done,
    /** Ctrl-C: resolves with the exit code. */
    async interrupt(): Promise<number> {
      ctrl.abort();
      return done;
    },
  };
}

/** How many calls of `method` (e.g. "ClusterService/ListClusters") the API has answered. */
async function calls(method: string): Promise<number> {
  const text = await api.metricsText();
  let n = 0;
  for (const m of text.matchAll(/^hyperfleet_api_rpc_requests_total\{([^}]*)\} (\d+)/gm)) if (m[1].includes(`method="hyperfleet.v1.${method}"`)) n += Number(m[2]);
  return n;
}

test("a cluster created after the watch starts appears at once, an adapter report shows in its column, and a removed one disappears, with no polling", async () => {
  const before = await api.clusters.createCluster({ name: "w-before", spec: {} });
  const [lists, statusLists, gets] = [await calls("ClusterService/ListClusters"), await calls("StatusService/ListStatuses"), await calls("ClusterService/GetCluster")];
  const w = watch();
  try {
    await w.until(() => w.row("w-before") !== undefined);
    expect(w.latest()).toMatch(/^NAME\s+GEN\s+PHASE\s+AGE$/m);

    const created = await api.clusters.createCluster({ name: "w-after", spec: {} });
    const sent = Date.now();
    await w.until(() => w.row("w-after") !== undefined, 2_000);
    expect(Date.now() - sent).toBeLessThan(2_000);
    expect(w.row("w-after")).toMatch(/^w-after\s+1\s+NotReady\s+\d+s$/);

    // An adapter's report changes the cluster: its column appears with what it reported.
    await api.statuses.reportStatus(reportRequest({ resourceId: created.id, adapter: "validation", generation: 1, at: new Date(), applied: "True", available: "True" }));
    await w.until(() => /^w-after\s+1\s+NotReady\s+✓1\s+/.test(w.row("w-after") ?? ""));
    expect(w.latest()).toMatch(/^NAME\s+GEN\s+PHASE\s+VALIDATION\s+AGE$/m);
    expect(w.row("w-before")).toMatch(/^w-before\s+1\s+NotReady\s+·\s+/);

    await api.clusters.deleteCluster({ id: created.id });
    await w.until(() => /^w-after\s+\d+\s+Deleting\s/.test(w.row("w-after") ?? ""));
    await api.clusters.forceDeleteCluster({ id: created.id, reason: "test" });
    await w.until(() => w.row("w-after") === undefined);
    expect(w.row("w-before")).toBeDefined();

    // The stream brought the changes: no listing, and one GetCluster per change at most (the adapter columns).
    expect(await calls("ClusterService/ListClusters")).toBe(lists);
    expect(await calls("StatusService/ListStatuses")).toBe(statusLists);
    expect((await calls("ClusterService/GetCluster")) - gets).toBeLessThanOrEqual(5);
  } finally {
    expect(await w.interrupt()).toBe(0);
  }
  expect(w.errors).toEqual([]);
  await api.clusters.deleteCluster({ id: before.id });
  await api.clusters.forceDeleteCluster({ id: before.id, reason: "test" });
});

test("a burst of creates is drawn a few times, not once per cluster", async () => {
  const label = "burst";
  const w = watch("--filter", `labels.t = '${label}'`, "--interval", "1h");
  try {
    await w.until(() => w.latest() === "no clusters yet\n");
    const printed = w.tables.length;
    const started = Date.now();
    await Promise.all(Array.from({ length: 30 }, (_, i) => api.clusters.createCluster({ name: `w-burst-${i}`, labels: { t: label }, spec: {} })));
    await w.until(() => Array.from({ length: 30 }, (_, i) => w.row(`w-burst-${i}`)).every(Boolean));
    const elapsed = Date.now() - started;
    // Draws are at least RENDER_GAP_MS apart.
    expect(w.tables.length - printed).toBeLessThanOrEqual(Math.ceil(elapsed / RENDER_GAP_MS) + 1);
    expect(w.tables.length - printed).toBeLessThan(30);
  } finally {
    expect(await w.interrupt()).toBe(0);
  }
});

test("--once prints the table once and exits 0; --filter applies", async () => {
  await api.clusters.createCluster({ name: "w-once", labels: { t: "once" }, spec: {} });
  const w = watch("--once", "--filter", "labels.t = 'once'");
  expect(await w.exit()).toBe(0);
  expect(w.tables).toHaveLength(1);
  expect(w.latest()).toMatch(/^NAME\s+GEN\s+PHASE\s+AGE\nw-once\s+1\s+NotReady\s+\d+s\n$/);
});

test("errors the stream cannot recover from exit 1 at once, printed as hf prints errors; an unreachable API too", async () => {
  const bad = watch("--filter", "labels.env = ");
  expect(await bad.exit()).toBe(1);
  expect(bad.errors).toEqual([expect.stringMatching(/^hf: InvalidArgument: /)]);
  expect(bad.tables).toEqual([]);

  const out: string[] = [];
  const err: string[] = [];
  expect(await run(["--api", "http://127.0.0.1:1", "watch"], { HOME: home }, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false })).toBe(1);
  expect(err).toEqual([expect.stringMatching(/^hf: Unavailable: .*is the API running/)]);
});

test("the API restarts: hf watch says once that it reconnects, resumes, and shows what changed while it was away", async () => {
  const stays = await api.clusters.createCluster({ name: "w-stays", spec: {} });
  const goes = await api.clusters.createCluster({ name: "w-goes", spec: {} });
  const w = watch();
  try {
    await w.until(() => w.row("w-stays") !== undefined && w.row("w-goes") !== undefined);
    await api.close();
    await w.until(() => w.errors.length > 0);
    expect(w.errors).toEqual([expect.stringMatching(/^hf watch: lost the stream \(.*\); reconnecting/)]);

    // A new API process on the same database (another port: the forwarder follows it).
    api = await startApi({ databaseUrl: temp.url, listen: true });
    target.port = api.port;
    const fresh = await api.clusters.createCluster({ name: "w-fresh", spec: {} });
    await api.clusters.updateCluster({ id: stays.id, spec: { v: 2 } });
    await api.clusters.deleteCluster({ id: goes.id });
    await api.clusters.forceDeleteCluster({ id: goes.id, reason: "test" });
    await w.until(() => w.row("w-fresh") !== undefined && w.row("w-goes") === undefined && /^w-stays\s+2\s/.test(w.row("w-stays") ?? ""), 15_000);
    expect(fresh.name).toBe("w-fresh");
    // One line for the one outage, however many attempts it took.
    expect(w.errors).toHaveLength(1);

    // And it keeps following the new API.
    await api.clusters.createCluster({ name: "w-later", spec: {} });
    await w.until(() => w.row("w-later") !== undefined, 2_000);
  } finally {
    const interrupted = Date.now();
    expect(await w.interrupt()).toBe(0);
    expect(Date.now() - interrupted).toBeLessThan(1_000);
  }
});
