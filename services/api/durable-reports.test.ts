/**
 * An acknowledged status report survives a Postgres crash. The API runs in-process as main.ts wires
 * it, on a Postgres server of the test's own; a burst of ReportStatus calls is under way when every
 * Postgres process is killed with SIGKILL. After crash recovery, every report that was answered
 * `stored: true` must be in the database as reported.
 *
 * Regression guard: the reports pool committed with synchronous_commit=off, and a kill -9 during a
 * burst lost 53 of 64 acknowledged reports.
 */
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import pg from "pg";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { StatusService } from "../../gen/hyperfleet/v1/status_pb.js";
import { findPostgresBin, startPrivatePostgres, type PrivatePostgres } from "../../test/support/private-postgres.js";
import { reportRequest } from "../../test/support/reports.js";
import { silentLogger } from "../shared/log.js";
import { loadConfig } from "./config.js";
import { openDatabase } from "./database.js";
import { createServer } from "./server.js";
import { createNoAuth } from "../shared/auth/index.js";

const bin = findPostgresBin();
// CI installs Postgres (.ci/run); a machine without its server binaries skips with the reason.
const maybe = bin || process.env.CI ? test : test.skip;
if (!bin && !process.env.CI) console.warn("skipping the report durability test: no Postgres server binaries (initdb, postgres) found; apt-get install postgresql, or set PG_BIN_DIR");

const ADAPTERS = ["validation", "dns", "placement"];
const CLUSTERS = 200;
/** Calls in flight during the burst, over CONNECTIONS HTTP/2 connections (within the server's per-connection bounds). */
const IN_FLIGHT = 48;
const CONNECTIONS = 4;
/** Postgres is killed the moment this many reports have been acknowledged: well inside the burst of CLUSTERS × 3. */
const CRASH_AFTER_ACKS = 150;

let server: PrivatePostgres | undefined;
beforeAll(async () => {
  if (bin) server = await startPrivatePostgres({ bin });
}, 120_000);
afterAll(async () => {
  await server?.destroy();
}, 60_000);

interface Acked {
  resourceId: string;
  adapter: string;
  generation: bigint;
  observedTime: Date;
}

maybe(
  "every report answered stored: true is in the database after kill -9 of Postgres mid-burst and crash recovery",
  async () => {
    const pgServer = server!;
    const config = loadConfig({ AUTH: "none", DATABASE_URL: pgServer.url, MIGRATE_ON_START: "true", DB_CONNECT_TIMEOUT: "1s", DB_STATEMENT_TIMEOUT: "5s", REPORT_QUEUE_TIMEOUT: "3s" });
    const { db } = await openDatabase(config, silentLogger());
    const { server: api } = createServer({ db, log: silentLogger(), auth: createNoAuth(), clusterAdapters: ADAPTERS, reportQueueTimeoutMs: config.reportQueueTimeoutMs });
    const port = await api.listen(0, "127.0.0.1");
    const transports = Array.from({ length: CONNECTIONS }, () => createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, defaultTimeoutMs: 30_000 }));
    const statuses: Client<typeof StatusService>[] = transports.map((t) => createClient(StatusService, t));
    const clusters = createClient(ClusterService, transports[0]);
    try {
      const ids: string[] = [];
      for (let i = 0; i < CLUSTERS; i += 20) {
        const batch = await Promise.all(Array.from({ length: Math.min(20, CLUSTERS - i) }, (_, j) => clusters.createCluster({ name: `durable-${i + j}`, spec: {} })));
        ids.push(...batch.map((c) => c.id));
      }
      // One report per (cluster, adapter): each acknowledged report must be its row as it stands.
      const jobs = ids.flatMap((resourceId) => ADAPTERS.map((adapter) => ({ resourceId, adapter })));
      const base = Date.now() - 3_600_000;
      const acked: Acked[] = [];
      let notStored = 0;
      let crashed: Promise<void> | undefined;
      let next = 0;
      const worker = async (w: number) => {
        const client = statuses[w % statuses.length];
        while (crashed === undefined && next < jobs.length) {
          const i = next++;
          const job = jobs[i];
          try {
            const res = await client.reportStatus(reportRequest({ ...job, generation: 1, at: new Date(base + i), applied: "True", available: "False" }));
            if (!res.stored || !res.status?.observedTime) {
              notStored++;
              continue;
            }
            acked.push({ ...job, generation: res.status.observedGeneration, observedTime: timestampDate(res.status.observedTime) });
            // Synchronously, on this very answer: the batches after it are in flight or about to be.
            if (acked.length === CRASH_AFTER_ACKS) crashed = pgServer.crash();
          } catch {
            notStored++;
          }
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
      if (!crashed) throw new Error(`the burst ended before ${CRASH_AFTER_ACKS} reports were acknowledged (${acked.length} acknowledged, ${notStored} not)`);
      await crashed;
      // The crash came mid-burst: some calls were not acknowledged.
      expect(acked.length).toBeLessThan(jobs.length);

      await pgServer.start(); // crash recovery replays the WAL
      const check = new pg.Client({ connectionString: pgServer.url });
      await check.connect();
      try {
        const { rows } = await check.query<{ resource_id: string; adapter: string; observed_generation: string; observed_time: Date }>(
          "select resource_id, adapter, observed_generation, observed_time from adapter_statuses",
        );
        const stored = new Map(rows.map((r) => [`${r.resource_id}/${r.adapter}`, r]));
        const lost = acked.filter((a) => {
          const row = stored.get(`${a.resourceId}/${a.adapter}`);
          return !row || BigInt(row.observed_generation) !== a.generation || row.observed_time.getTime() !== a.observedTime.getTime();
        });
        console.log(`durability: ${acked.length} reports acknowledged when Postgres was killed (${notStored} of the burst not), ${acked.length - lost.length} of them found after recovery`);
        expect(lost.map((a) => `${a.resourceId}/${a.adapter}`)).toEqual([]);
      } finally {
        await check.end();
      }
    } finally {
      await api.close(100);
      await db.destroy();
    }
  },
  120_000,
);
