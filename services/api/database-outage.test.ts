/**
 * The database going away, two ways, through a TCP proxy in front of Postgres: refused and reset
 * (cut), and every packet dropped (black hole), where only our own timeouts can tell.
 */
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { StatusService } from "../../gen/hyperfleet/v1/status_pb.js";
import { createTempDatabase, type TempDatabase } from "../../test/support/temp-database.js";
import { startTcpProxy, type TcpProxy } from "../../test/support/tcp-proxy.js";
import { reportRequest } from "../../test/support/reports.js";
import { eventually } from "../../test/support/brokers.js";
import { silentLogger } from "../shared/log.js";
import { loadConfig } from "./config.js";
import { openDatabase } from "./database.js";
import { createServer } from "./server.js";
import { createNoAuth } from "../shared/auth/index.js";

let temp: TempDatabase;
let proxy: TcpProxy;
let url: string;

beforeAll(async () => {
  temp = await createTempDatabase();
  const direct = new URL(temp.url);
  proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  direct.host = `127.0.0.1:${proxy.port}`;
  url = direct.toString();
});
afterAll(async () => {
  await proxy.close();
  await temp.drop();
});

/** Short bounds, so that a black hole shows within seconds: what an operator would set through these variables. */
const BOUNDS = { DB_CONNECT_TIMEOUT: "1s", DB_ACQUIRE_TIMEOUT: "2s", DB_STATEMENT_TIMEOUT: "1s", DB_QUERY_TIMEOUT: "2s", REPORT_QUEUE_TIMEOUT: "3s" };
/** "Fails within the configured timeouts, not hangs": generous for a loaded machine, far below the 40 s a hang took. */
const PROMPTLY_MS = 12_000;

interface Api {
  clusters: Client<typeof ClusterService>;
  statuses: Client<typeof StatusService>;
  /** Closes the pool's connections, as its idle timeout would: the next call has to open one. */
  emptyPool(): Promise<void>;
  close(): Promise<void>;
}

/** The API as main.ts wires it (config → pool → server) on the proxy, with clients that never give up first. */
async function startApi(): Promise<Api> {
  const config = loadConfig({ AUTH: "none", DATABASE_URL: url, ...BOUNDS });
  const { db } = await openDatabase(config, silentLogger());
  const { server } = createServer({
    db,
    log: silentLogger(), auth: createNoAuth(),
    clusterAdapters: ["validation"],
    reportQueueTimeoutMs: config.reportQueueTimeoutMs,
  });
  const port = await server.listen(0, "127.0.0.1");
  const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, defaultTimeoutMs: 60_000 });
  return {
    clusters: createClient(ClusterService, transport),
    statuses: createClient(StatusService, transport),
    async emptyPool() {
      await db.destroy();
      db.initialize();
    },
    async close() {
      await server.close(100);
      await db.destroy();
    },
  };
}

/** The call's error and how long it took. */
async function failure(call: Promise<unknown>): Promise<{ code: Code | undefined; message: string; ms: number }> {
  const start = Date.now();
  try {
    await call;
    return { code: undefined, message: "succeeded", ms: Date.now() - start };
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, message: e.rawMessage, ms: Date.now() - start };
  }
}

let second = 0;
const report = (resourceId: string) => reportRequest({ resourceId, adapter: "validation", generation: 1, at: new Date(Date.UTC(2026, 0, 1, 0, 0, ++second)), applied: "True", available: "False" });

test("Postgres down → Unavailable without SQL in the message; the API recovers when it returns", async () => {
  const api = await startApi();
  try {
    const before = await api.clusters.createCluster({ name: "outage-1", spec: {} });

    await proxy.cut();
    const err = await failure(api.clusters.getCluster({ id: before.id }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toBe("database unavailable, retry later");
    expect((await failure(api.clusters.createCluster({ name: "outage-2", spec: {} }))).code).toBe(Code.Unavailable);

    await proxy.restore();
    // Until the pool has reconnected: a loaded machine takes longer, never forever.
    const recovered = await eventually(() => api.clusters.getCluster({ id: before.id }).then((c) => c.name, () => undefined), 20_000, 100);
    expect(recovered).toBe("outage-1");
    expect((await api.clusters.createCluster({ name: "outage-2", spec: {} })).name).toBe("outage-2");
  } finally {
    await proxy.restore();
    await api.close();
  }
});

describe("black hole: every packet dropped", () => {
  let api: Api;
  beforeEach(async () => {
    api = await startApi();
  });
  afterEach(async () => {
    await proxy.restore();
    await api.close();
  });

  test("with no open connection to reuse, a call fails Unavailable after the connect timeout (regression guard: pg's 'timeout expired' was Internal), and succeeds once packets flow again", async () => {
    const c = await api.clusters.createCluster({ name: "hole-idle", spec: {} });
    // No pooled connection left: the report has to open one.
    await api.emptyPool();
    proxy.blackHole();
    const err = await failure(api.statuses.reportStatus(report(c.id)));
    expect(err).toMatchObject({ code: Code.Unavailable, message: "database unavailable, retry later" });
    expect(err.ms).toBeLessThan(PROMPTLY_MS);

    await proxy.restore();
    const stored = await eventually(() => api.statuses.reportStatus(report(c.id)).then((r) => r.stored, () => undefined), 20_000, 100);
    expect(stored).toBe(true);
  });

  test("with open pooled connections, reads and reports fail Unavailable within the query timeout (regression guard: they hung for more than 40 s), and the API recovers without a restart", async () => {
    const c = await api.clusters.createCluster({ name: "hole-open", spec: {} });
    expect((await api.statuses.reportStatus(report(c.id))).stored).toBe(true); // the pool now holds a connection
    proxy.blackHole();

    const [read, reported] = await Promise.all([failure(api.clusters.getCluster({ id: c.id })), failure(api.statuses.reportStatus(report(c.id)))]);
    for (const err of [read, reported]) {
      expect(err.code).toBe(Code.Unavailable);
      expect(err.message).toMatch(/^database (did not answer in time|unavailable|busy), retry later$/);
      expect(err.ms).toBeLessThan(PROMPTLY_MS);
    }

    await proxy.restore();
    const name = await eventually(() => api.clusters.getCluster({ id: c.id }).then((x) => x.name, () => undefined), 20_000, 100);
    expect(name).toBe("hole-open");
    const stored = await eventually(() => api.statuses.reportStatus(report(c.id)).then((r) => r.stored, () => undefined), 20_000, 100);
    expect(stored).toBe(true);
  });

  test("reports for many resources arriving during the black hole all fail Unavailable promptly: none waits without bound in the report queue", async () => {
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => api.clusters.createCluster({ name: `hole-many-${i}`, spec: {} }).then((c) => c.id)));
    expect((await api.statuses.reportStatus(report(ids[0]))).stored).toBe(true);
    proxy.blackHole();
    // Eight for each resource: a resource's reports are written one at a time, and each attempt now takes
    // at least the connect timeout (1 s), so the later ones reach the queue's own bound (3 s).
    const errs = await Promise.all(ids.flatMap((id) => Array.from({ length: 8 }, () => failure(api.statuses.reportStatus(report(id))))));
    expect(new Set(errs.map((e) => e.code))).toEqual(new Set([Code.Unavailable]));
    expect(Math.max(...errs.map((e) => e.ms))).toBeLessThan(PROMPTLY_MS);
    expect(errs.filter((e) => /^status report not written within 3000 ms/.test(e.message)).length).toBeGreaterThan(0);
  });
});
