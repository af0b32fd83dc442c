/**
 * The system under attack: the real API on a fresh Postgres database and the real cluster Sentinel
 * publishing to a real broker, each its own process at `npm start`'s heap budget; with a legitimate
 * client (its own process), a memory sampler, an event collector and a table row per attack.
 */
import { rmSync } from "node:fs";
import net from "node:net";
import pg from "pg";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { NodePoolService } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import { StatusService } from "../../gen/hyperfleet/v1/status_pb.js";
import { SentinelService } from "../../gen/hyperfleet/v1/sentinel_pb.js";
import { buildServices } from "../../services/stack/build.js";
import { HEAP_BUDGET_MB } from "../../services/stack/processes.js";
import { createBroker, subscriptionName, topicName, topicTopology, type Broker } from "../../services/shared/broker/index.js";
import { decodeReconcileEvent } from "../../services/shared/events/index.js";
import { createTempDatabase, type TempDatabase } from "../support/temp-database.js";
import { TEST_BROKERS, uniqueNamespace } from "../support/brokers.js";
import { createAttackRow, formatTable, internalCount, type AttackRow } from "./attack-row.js";
import { startLegitClient, type LegitClient, type LegitStats } from "./legit-client.js";
import { startRssSampler, type RssSampler } from "./rss-sampler.js";
import { healthCheck, startServiceProcess, type ServiceProcess } from "./service-process.js";
import { createWire, type Wire } from "./wire.js";
import type { Targets } from "./generator.js";

/** Peak resident memory allowed each service: its 192 MB heap budget plus Buffers, code and the rest. */
export const RSS_BUDGET_MB = Number(process.env.HOSTILE_RSS_BUDGET_MB ?? 400);
/**
 * The legitimate client's p99 while attacks run: a bound on behaviour (not starved), not a speed
 * target. Starvation shows as hundreds of ms (266-665 ms without the per-connection turn-taking in
 * row 6); on two shared cores the served client's p99 in row G runs 80-110 ms, so 100 ms failed CI
 * on machine noise twice (100.3, 109.5 ms). 200 ms keeps both apart.
 */
export const LEGIT_P99_MS = Number(process.env.HOSTILE_P99_MS ?? 200);
/** Legitimate calls that may fail during an attack (load shedding may refuse a few). */
const LEGIT_FAILURE_RATIO = 0.01;

/**
 * Short server timeouts for the stalled-connection attack, by the names this suite assumes the
 * server hardening reads (services/shared/rpc/serve.ts via each service's config); unused names are harmless.
 */
export const SERVER_TIMEOUT_ENV: Record<string, string> = {
  RPC_IDLE_TIMEOUT: "3s",
  RPC_HEADERS_TIMEOUT: "3s",
  RPC_REQUEST_TIMEOUT: "5s",
  ...(process.env.HOSTILE_API_STREAMS ? { RPC_MAX_STREAMS_PER_CONNECTION: process.env.HOSTILE_API_STREAMS } : {}),
};

export interface HostileStack {
  api: ServiceProcess;
  sentinel: ServiceProcess;
  /** Attack traffic to the API. */
  wire: Wire;
  /** Direct access to the API's database (legacy rows no API would accept). */
  db: pg.Pool;
  clusters: Client<typeof ClusterService>;
  nodepools: Client<typeof NodePoolService>;
  statuses: Client<typeof StatusService>;
  sentinelClient: Client<typeof SentinelService>;
  legitClusterId: string;
  /** Resources the generated requests may change or delete. */
  targets: Targets;
  brokerKind: string;
  /** The legitimate client's calls started between `from` and `to`. */
  legitStats(from: number, to: number): LegitStats;
  /** Resolves once the legitimate client has made `n` calls from now on. */
  legitCalls(n: number): Promise<void>;
  /** Resolves true once the Sentinel published an event for `id`, false after `timeoutMs`. */
  eventFor(id: string, timeoutMs: number): Promise<boolean>;
  /** Runs one attack as a table row: memory, legitimate client, Internal answers, crashes and health checked around it. */
  row(id: string, attack: string, opts: { legitApplies: boolean }, fn: (row: AttackRow) => Promise<void>): Promise<AttackRow>;
  rows: AttackRow[];
  rss: RssSampler;
  startedAt: number;
  table(header: string[]): string;
  stop(): Promise<void>;
}

export async function startHostileStack(): Promise<HostileStack> {
  // Undone in reverse order by stop(), or at once if starting fails half way.
  const undo: (() => unknown)[] = [];
  try {
    return await start(undo);
  } catch (err) {
    await undoAll(undo);
    throw err;
  }
}

async function undoAll(undo: (() => unknown)[]): Promise<void> {
  while (undo.length > 0) {
    try {
      await undo.pop()!();
    } catch {
      // the rest still goes
    }
  }
}

async function start(undo: (() => unknown)[]): Promise<HostileStack> {
  const startedAt = Date.now();
  const temp: TempDatabase = await createTempDatabase("hf_hostile");
  undo.push(() => temp.drop());
  const buildDir = `.hyperfleet/hostile-build-${process.pid}`;
  undo.push(() => rmSync(buildDir, { recursive: true, force: true }));
  const bundles = await buildServices(buildDir);
  const [apiPort, apiMetricsPort, sentinelPort, sentinelMetricsPort] = await quietPorts(4);
  const api = await startServiceProcess("api", bundles["services/api/main.ts"], { DATABASE_URL: temp.url, API_PORT: String(apiPort), API_METRICS_PORT: String(apiMetricsPort), ...SERVER_TIMEOUT_ENV }, apiPort);
  undo.push(() => api.stop());
  const db = new pg.Pool({ connectionString: temp.url, max: 2 });
  undo.push(() => db.end());
  await seedClusters(db, 5000);

  const brokerKind = process.env.HOSTILE_BROKER === "pubsub" ? "pubsub" : "rabbitmq";
  const brokerConfig = TEST_BROKERS.find(([name]) => name === brokerKind)![1];
  const namespace = uniqueNamespace("hostile");
  const topic = topicName(namespace, "clusters");
  const broker: Broker = createBroker(brokerConfig);
  undo.push(() => broker.close());
  await broker.provision(topicTopology(topic, ["hostile"]));
  const published = new Set<string>();
  await broker.subscribe(subscriptionName(topic, "hostile"), async (m) => {
    const d = decodeReconcileEvent(m.data);
    if (d.ok) published.add(d.event.data.id);
    return "ack";
  });
  const brokerEnv: Record<string, string> =
    brokerConfig.kind === "pubsub"
      ? { BROKER: "pubsub", PUBSUB_EMULATOR_HOST: brokerConfig.emulatorHost ?? "", PUBSUB_PROJECT_ID: brokerConfig.projectId }
      : { BROKER: "rabbitmq", RABBITMQ_URL: brokerConfig.url };
  const sentinel = await startServiceProcess(
    "sentinel",
    bundles["services/sentinel/main.ts"],
    { ...brokerEnv, RESOURCE_KIND: "clusters", SENTINEL_PORT: String(sentinelPort), SENTINEL_METRICS_PORT: String(sentinelMetricsPort), API_URL: api.url, TOPIC_NAMESPACE: namespace, ADAPTERS: "hostile", POLL_INTERVAL: "200ms", ...SERVER_TIMEOUT_ENV },
    sentinelPort,
  );
  undo.push(() => sentinel.stop());

  const grpc = createGrpcTransport({ baseUrl: api.url });
  const clusters = createClient(ClusterService, grpc);
  const nodepools = createClient(NodePoolService, grpc);
  const statuses = createClient(StatusService, grpc);
  const sentinelClient = createClient(SentinelService, createGrpcTransport({ baseUrl: sentinel.url }));
  const legitCluster = await clusters.createCluster({ name: "legit-client", labels: { role: "legit" }, spec: { region: "us-east-1" } });
  const victims = await Promise.all([1, 2, 3].map((i) => clusters.createCluster({ name: `victim-${i}`, spec: {} })));
  const victimPool = await nodepools.createNodePool({ clusterId: victims[0].id, name: "victim-np", spec: {} });
  const legit: LegitClient = startLegitClient(api.url, legitCluster.id);
  undo.push(() => legit.stop());
  await legit.ready();
  const rss = startRssSampler(() => [api, sentinel].filter((p) => p.alive()).map((p) => ({ name: p.name, pid: p.pid() })));
  undo.push(() => rss.stop());
  const wire = createWire(api.url, { sessions: 4, h1Sockets: 32 });
  undo.push(() => wire.close());
  const rows: AttackRow[] = [];

  async function row(id: string, attack: string, opts: { legitApplies: boolean }, fn: (row: AttackRow) => Promise<void>): Promise<AttackRow> {
    const r = createAttackRow(id, attack);
    const crashesBefore = new Map([api, sentinel].map((p) => [p, p.crashes.length]));
    const errorsBefore = api.errorLines.length;
    const poisonedBefore = wire.poisoned();
    const from = Date.now();
    try {
      await fn(r);
    } catch (err) {
      r.check(false, `the attack itself threw: ${err instanceof Error ? err.message : String(err)}`);
    }
    const to = Date.now();
    r.ms = to - from;
    r.peakRssMb = rss.peaks(from, to);
    const l = legit.stats(from, to);
    r.legit = { ...l, applies: opts.legitApplies };
    if (opts.legitApplies) {
      r.check(l.calls > 0, "the legitimate client made no call during the attack");
      r.check(l.p99Ms < LEGIT_P99_MS, `legitimate client p99 ${l.p99Ms.toFixed(1)} ms ≥ ${LEGIT_P99_MS} ms (${l.calls} calls)`);
      r.check(l.failures <= Math.max(1, l.calls * LEGIT_FAILURE_RATIO), `${l.failures} of ${l.calls} legitimate calls failed`);
    }
    const poisoned = wire.poisoned() - poisonedBefore;
    r.check(poisoned === 0, `${poisoned} of the suite's HTTP/2 connections refused every new stream (ENHANCE_YOUR_CALM) for 2 s without closing: never served again`);
    const internal = internalCount(r);
    r.check(internal === 0, `${internal} Internal answers (gRPC 13 / Connect internal / HTTP 500 / a reset gRPC reads as Internal)`);
    for (const cause of distinctCauses(api.errorLines.slice(errorsBefore))) r.note(`API error log: ${cause}`);
    for (const [name, mb] of Object.entries(r.peakRssMb)) r.check(mb < RSS_BUDGET_MB, `${name} peak RSS ${Math.round(mb)} MB ≥ ${RSS_BUDGET_MB} MB`);
    for (const p of [api, sentinel]) {
      for (const c of p.crashes.slice(crashesBefore.get(p))) {
        const oom = /heap out of memory|Reached heap limit|allocation failed/i.test(c.tail);
        r.check(false, `${p.name} CRASHED (exit ${c.code ?? c.signal}${oom ? ", out of memory" : ""}): ${c.tail.split("\n").filter(Boolean).slice(-3).join(" / ").slice(0, 400)}`);
      }
      if (!p.alive()) {
        r.note(`${p.name} restarted for the next attacks`);
        await p.restart();
      }
      const health = await healthCheck(p.url);
      // The Sentinel's health follows its polls: NOT_SERVING is reported, only no answer at all fails here.
      r.check(p === api ? health === "SERVING" : !/^(no answer|connection failed|grpc-status)/.test(health), `${p.name} health check after the attack: ${health}`);
      if (p === sentinel && health !== "SERVING") {
        const status = await sentinelClient.getStatus({}).catch(() => undefined);
        r.note(`sentinel health after the attack: ${health}${status?.lastError ? ` (last error: ${status.lastError.slice(0, 200)})` : ""}`);
      }
    }
    rows.push(r);
    return r;
  }

  return {
    api,
    sentinel,
    wire,
    db,
    clusters,
    nodepools,
    statuses,
    sentinelClient,
    legitClusterId: legitCluster.id,
    targets: { clusterIds: victims.map((v) => v.id), nodepoolIds: [victimPool.id] },
    brokerKind,
    legitStats: (from, to) => legit.stats(from, to),
    async legitCalls(n) {
      const from = Date.now();
      while (legit.stats(from, Date.now()).calls < n) await new Promise((r) => setTimeout(r, 50));
    },
    async eventFor(id, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!published.has(id)) {
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 50));
      }
      return true;
    },
    row,
    rows,
    rss,
    startedAt,
    table: (header) => formatTable(rows, header),
    stop: () => undoAll(undo),
  };
}

/** The distinct error messages of pino error lines (at most five), for a row's notes. */
function distinctCauses(lines: string[]): string[] {
  const causes = new Set<string>();
  for (const line of lines) {
    try {
      const o = JSON.parse(line) as { msg?: string; method?: string; err?: unknown };
      const err = typeof o.err === "string" ? o.err : ((o.err as { message?: string })?.message ?? JSON.stringify(o.err ?? ""));
      causes.add(`${o.method ?? ""} ${o.msg ?? ""}: ${String(err).split("\n")[0]}`.trim().slice(0, 240));
    } catch {
      causes.add(line.slice(0, 240));
    }
    if (causes.size >= 5) break;
  }
  return [...causes];
}

/**
 * Free ports below Linux's ephemeral range (32768-60999), where no outgoing connection can take one
 * between our check and a restarted service's listen.
 */
async function quietPorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const port = 20000 + Math.floor(Math.random() * 11000);
    if (out.includes(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer().once("error", () => resolve(false)).listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (free) out.push(port);
  }
  return out;
}

/** A fleet to filter over: `n` Ready, fresh clusters straight into Postgres (none due, so the Sentinel stays quiet). */
async function seedClusters(db: pg.Pool, n: number): Promise<void> {
  await db.query(
    `insert into clusters (id, name, labels, spec, generation, phase, observed_generation, last_transition_time, last_updated_time, status_conditions, created_time, updated_time, created_by, updated_by)
     select gen_random_uuid(), 'seed-' || i, jsonb_build_object('shard', (i % 100)::text, 'env', (array['prod','dev','staging'])[1 + i % 3]),
            jsonb_build_object('region', 'us-east-1'), 1, 'Ready', 1, now(), now(), '[]', now(), now(), 'seed', 'seed'
     from generate_series(1, $1::int) i`,
    [n],
  );
  await db.query("analyze clusters");
}

export { HEAP_BUDGET_MB };
