/**
 * One chaos run on one broker: the whole stack (`npm start`'s supervisor and services) over a private
 * Postgres and a breakable broker; a rollout of clusters created, updated and deleted on a planned
 * schedule; faults striking at planned moments during it, each once the one before has recovered
 * (kill -9 of each adapter, the API and the cluster Sentinel, which the supervisor restarts; Postgres
 * killed and started again; the broker restarted); then a bounded wait for the fleet to converge, and the invariants (invariants.ts) over
 * what was observed throughout and at the end.
 *
 * Observers running for the whole run: a watch on Jobs (every uid ever created), a sampler of every
 * adapter status row straight from Postgres (rows never move backwards), a probe reporter (an extra
 * adapter name that reports on the clusters that are kept, remembering every report the API answered
 * stored), and a sampler of every service process's peak RSS.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { JsonValue } from "@bufbuild/protobuf";
import amqp from "amqplib";
import pg from "pg";
import { Phase } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { ReportOutcome } from "../../gen/hyperfleet/v1/status_pb.js";
import { SentinelService, SentinelServiceGetStatusResponseSchema } from "../../gen/hyperfleet/v1/sentinel_pb.js";
import { AdapterService, AdapterServiceGetStatusResponseSchema } from "../../gen/hyperfleet/v1/adapter_pb.js";
import { toJson } from "@bufbuild/protobuf";
import { createApiClient, type ApiClient } from "../../services/shared/api-client.js";
import { startBrokerFaults, type BrokerFaults } from "../support/broker-faults.js";
import { findPostgresBin, startPrivatePostgres, type PrivatePostgres } from "../support/private-postgres.js";
import { reportRequest } from "../support/reports.js";
import { seededRandom } from "../support/seeded-random.js";
import { startStack, type RunningStack } from "../support/start-stack.js";
import {
  checkAcked,
  checkBudget,
  checkDeletedGone,
  checkLiveReady,
  checkOrphans,
  checkRecovered,
  checkValidationJobs,
  checkWritesInEffect,
  createRowTracker,
  type AckedReport,
  type Check,
  type ClusterView,
  type Expected,
  type FaultOutcome,
  type KubeObjectSeen,
} from "./invariants.js";
import { listAdapterObjects, watchJobs } from "./kube-objects.js";
import { faultList, planRollout, scheduleFaults, type Fault, type Op } from "./plan.js";
import { peakRssMb, stackServices } from "./stack-processes.js";

export type BrokerKind = "pubsub" | "rabbitmq";

export interface ScenarioOptions {
  clusters: number;
  broker: BrokerKind;
  /** The rollout's length: every create, update, delete and fault is planned within it. */
  windowMs: number;
  /** How long the fleet may take to converge after the window before the invariants are judged. */
  convergeTimeoutMs: number;
  /** A fault must have recovered this long after it ended. */
  recoveryBoundMs: number;
  /** Peak RSS allowed each service process. */
  rssBudgetMb: number;
  seed?: number;
  /** LOG_LEVEL of every service (CHAOS_LOG_LEVEL; default warn). */
  logLevel?: string;
  log: (line: string) => void;
}

export interface ScenarioResult {
  broker: BrokerKind;
  clusters: number;
  seed: number;
  faults: FaultOutcome[];
  checks: Check[];
  ok: boolean;
  /** Ms from the end of the rollout window until the fleet had converged (undefined: it never did). */
  convergedAfterMs?: number;
  totalMs: number;
  /** When the fleet did not converge: what the Sentinel and the adapters said about themselves then, and one stuck cluster. */
  diagnosis: string;
  /** Every line the stack printed (its own lines and the services' warnings). */
  stackLog: string;
}

/** The adapter name the probe reporter reports as (not a required adapter: it changes no phase). */
export const PROBE_ADAPTER = "chaos-probe";
/** Cluster adapters: their recovery includes handling an event again. */
const CLUSTER_ADAPTERS = ["validation", "dns", "placement"];
/** How long the broker stays down in its restart fault. */
const BROKER_OUTAGE_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** JSON with object keys sorted, so two specs compare equal whatever order Postgres's jsonb keeps their keys in. */
export function canonicalJson(v: JsonValue | undefined): string {
  if (v === undefined || v === null || typeof v !== "object") return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
    .join(",")}}`;
}

/** The spec a cluster gets at its create (rev 0) and its updates (rev 1, 2). */
export function specFor(rev: number): Record<string, JsonValue> {
  return { region: rev % 2 === 0 ? "us-east-1" : "us-east-2", rev, simulate: { placementDuration: "1s" } };
}

interface ClusterRecord {
  index: number;
  name: string;
  id?: string;
  generation: number;
  rev: number;
  spec: string;
  deleteAcked: boolean;
  chain: Promise<void>;
}

async function healthy(metricsUrl: string): Promise<boolean> {
  try {
    const res = await fetch(metricsUrl.replace(/\/metrics$/, "/healthz"), { signal: AbortSignal.timeout(1000) });
    await res.text();
    return res.ok;
  } catch {
    return false;
  }
}

/** Broker events this adapter process has handled (hyperfleet_adapter_events_total, trigger="event"); undefined when unreachable. */
async function eventsHandled(metricsUrl: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(1000) })).text();
    let n = 0;
    for (const m of text.matchAll(/^hyperfleet_adapter_events_total\{([^}]*)\} (\S+)/gm)) if (m[1].includes('trigger="event"')) n += Number(m[2]);
    return n;
  } catch {
    return undefined;
  }
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(stepMs);
  }
}

/** Deletes what the stack provisioned on RabbitMQ for `namespace` (durable queues outlive the run otherwise). */
async function cleanRabbit(namespace: string): Promise<void> {
  const url = process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672";
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    for (const [kind, adapters] of [["clusters", ["validation", "dns", "placement"]], ["nodepools", ["nodepool"]]] as const) {
      const topic = `${namespace}-${kind}`;
      for (const a of adapters) {
        const sub = `${topic}-${a}`;
        await ch.deleteQueue(sub);
        await ch.deleteQueue(`${sub}-dlq`);
        await ch.deleteExchange(`${sub}-dlq`);
      }
      await ch.deleteExchange(topic);
    }
  } finally {
    await conn.close().catch(() => undefined);
  }
}

export async function runScenario(opts: ScenarioOptions): Promise<ScenarioResult> {
  const { log } = opts;
  const started = Date.now();
  const rnd = seededRandom(`chaos ${opts.broker}`, opts.seed);
  const plan = planRollout(opts.clusters, opts.windowMs, rnd);
  const schedule = scheduleFaults(faultList(opts.broker === "pubsub" ? "Pub/Sub emulator stopped and started empty" : "RabbitMQ connections cut and refused"), opts.windowMs);

  const bin = findPostgresBin();
  if (!bin) throw new Error("no Postgres server binaries (initdb, postgres): apt-get install postgresql, or set PG_BIN_DIR");
  let pgServer: PrivatePostgres | undefined;
  let broker: BrokerFaults | undefined;
  let stack: RunningStack | undefined;
  const cleanups: (() => unknown)[] = [];
  try {
    pgServer = await startPrivatePostgres({ bin });
    broker = await startBrokerFaults(opts.broker);
    const brokerEnv: Record<string, string> =
      broker.config.kind === "pubsub" ? { BROKER: "pubsub", PUBSUB_EMULATOR_HOST: broker.config.emulatorHost! } : { BROKER: "rabbitmq", RABBITMQ_URL: broker.config.url };
    log(`${opts.broker}: starting the stack (${opts.clusters} clusters, rollout window ${opts.windowMs / 1000} s, seed ${rnd.seed})`);
    stack = await startStack({
      ...brokerEnv,
      DATABASE_URL: pgServer.url,
      // The probe's reports are stored and read back, deciding no phase.
      CLUSTER_OPTIONAL_ADAPTERS: PROBE_ADAPTER,
      POLL_INTERVAL: "1s",
      MAX_AGE_NOT_READY: "2s",
      MAX_AGE_READY: "30m",
      STANDIN_JOB_DURATION: "1s",
      STANDIN_DNS_DELAY: "1s",
      // The adapters' sweep of objects whose cluster is gone, where the adapters have one.
      ORPHAN_SWEEP_INTERVAL: "5s",
      LOG_LEVEL: opts.logLevel ?? process.env.CHAOS_LOG_LEVEL ?? "warn",
    });
    const s = stack;
    const stackPid = s.pid!;
    const api: ApiClient = createApiClient(s.apiUrl, { timeoutMs: 10_000, interceptors: s.credentials });
    const sentinel = createClient(SentinelService, createGrpcTransport({ baseUrl: s.sentinelUrl, defaultTimeoutMs: 3000, interceptors: s.credentials }));
    const adapterMetrics: Record<string, string> = { ...s.adapterMetricsUrls! };
    // The nodepool adapter listens beside the cluster adapters (validation +3).
    adapterMetrics.nodepool = adapterMetrics.validation.replace(/:(\d+)\//, (_, p: string) => `:${Number(p) + 3}/`);
    const metricsOf: Record<string, string> = { ...adapterMetrics, api: s.apiMetricsUrl!, sentinel: s.sentinelMetricsUrl! };

    let running = true;
    const t0 = Date.now();
    const since = () => Date.now() - t0;

    // --- observers ----------------------------------------------------------------------------
    const jobsSeen: KubeObjectSeen[] = [];
    const watch = watchJobs(s.kubeUrl, "hyperfleet", (o) => jobsSeen.push(o));
    cleanups.push(() => watch.stop());

    const peaks: Record<string, number> = {};
    const pidsOf = new Map<string, number>();
    const sampleProcesses = () => {
      for (const p of stackServices(stackPid)) {
        pidsOf.set(p.name, p.pid);
        const mb = peakRssMb(p.pid);
        if (Number.isFinite(mb)) peaks[p.name] = Math.max(peaks[p.name] ?? 0, mb);
      }
    };
    sampleProcesses();
    const rssTimer = setInterval(sampleProcesses, 1000);
    cleanups.push(() => clearInterval(rssTimer));

    const rows = createRowTracker();
    let sampler: pg.Client | undefined;
    const sampleRows = async () => {
      try {
        if (!sampler) {
          const c = new pg.Client({ connectionString: pgServer!.url, connectionTimeoutMillis: 2000, query_timeout: 5000 });
          c.on("error", () => undefined);
          await c.connect();
          sampler = c;
        }
        const at = since();
        const { rows: found } = await sampler.query<{ resource_id: string; adapter: string; observed_generation: string; last_report_time: Date }>(
          "select resource_id, adapter, observed_generation, last_report_time from adapter_statuses",
        );
        rows.observe(found.map((r) => ({ resourceId: r.resource_id, adapter: r.adapter, generation: Number(r.observed_generation), reportTime: r.last_report_time.getTime() })), at);
      } catch {
        // Postgres is down (its restart fault): the next sample reconnects.
        await sampler?.end().catch(() => undefined);
        sampler = undefined;
      }
    };
    const rowLoop = (async () => {
      while (running) {
        await sampleRows();
        await sleep(1000);
      }
    })();
    cleanups.push(() => sampler?.end().catch(() => undefined));

    // --- the fleet --------------------------------------------------------------------------
    const clusters: ClusterRecord[] = Array.from({ length: opts.clusters }, (_, index) => ({
      index,
      name: `chaos-${index}`,
      generation: 0,
      rev: 0,
      spec: canonicalJson(specFor(0)),
      deleteAcked: false,
      chain: Promise.resolve(),
    }));
    const failedOps: string[] = [];
    const opDeadline = t0 + opts.windowMs + opts.convergeTimeoutMs / 2;

    /** Calls `fn` until it succeeds, whatever the fault (the API or Postgres down), until the op deadline. */
    const persist = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
      let delay = 250;
      for (;;) {
        try {
          return await fn();
        } catch (err) {
          const e = ConnectError.from(err);
          if (Date.now() > opDeadline || e.code === Code.InvalidArgument) {
            failedOps.push(`${what}: ${e.code === Code.InvalidArgument ? "" : "still failing at the deadline: "}${e.message}`);
            return undefined;
          }
          await sleep(delay);
          delay = Math.min(2000, delay * 2);
        }
      }
    };

    const exec = async (op: Op) => {
      const c = clusters[op.cluster];
      if (op.kind === "create") {
        const spec = specFor(0);
        const got = await persist(`create ${c.name}`, async () => {
          try {
            return await api.clusters.createCluster({ name: c.name, labels: { chaos: "true" }, spec });
          } catch (err) {
            // An earlier attempt was stored but its answer lost (the API killed mid-call): it is there by name.
            if (ConnectError.from(err).code !== Code.AlreadyExists) throw err;
            const page = await api.clusters.listClusters({ filter: `name = '${c.name}'` });
            if (page.clusters.length !== 1) throw err;
            return page.clusters[0];
          }
        });
        if (got) {
          c.id = got.id;
          c.generation = Number(got.generation);
        }
      } else if (c.id === undefined) {
        failedOps.push(`${op.kind} ${c.name}: never created`);
      } else if (op.kind === "update") {
        const rev = c.rev + 1;
        const spec = specFor(rev);
        const got = await persist(`update ${c.name}`, () => api.clusters.updateCluster({ id: c.id!, spec, updateMask: { paths: ["spec"] } }));
        if (got) {
          c.rev = rev;
          c.spec = canonicalJson(spec);
          c.generation = Number(got.generation);
        }
      } else {
        const got = await persist(`delete ${c.name}`, async () => {
          try {
            return await api.clusters.deleteCluster({ id: c.id! });
          } catch (err) {
            // An earlier attempt was stored, and the adapters have finalized it already.
            if (ConnectError.from(err).code === Code.NotFound) return true;
            throw err;
          }
        });
        if (got) c.deleteAcked = true;
      }
    };

    const rollout = (async () => {
      for (const op of plan.ops) {
        const wait = t0 + op.at - Date.now();
        if (wait > 0) await sleep(wait);
        const c = clusters[op.cluster];
        c.chain = c.chain.then(() => exec(op));
      }
      await Promise.all(clusters.map((c) => c.chain));
    })();

    // --- probe reporter: an extra adapter's reports, each one answered stored remembered -----
    const acked: AckedReport[] = [];
    const ackedIds = new Set<string>();
    const recreated: string[] = [];
    let lastAckAt = 0;
    const kept = clusters.filter((c) => !plan.deleted.has(c.index));
    const probeWorker = async (w: number, of: number) => {
      const mine = kept.filter((c) => c.index % of === w);
      while (running) {
        let sent = false;
        for (const c of mine) {
          if (!running) break;
          if (c.id === undefined) continue;
          sent = true;
          try {
            const res = await api.statuses.reportStatus(reportRequest({ resourceId: c.id, adapter: PROBE_ADAPTER, generation: Math.max(1, c.generation), at: new Date(), applied: "True", available: "True" }));
            if (res.stored && res.status?.lastReportTime) {
              if (res.outcome === ReportOutcome.CREATED && ackedIds.has(c.id)) recreated.push(`${c.name} (${c.id})`);
              acked.push({ resourceId: c.id, generation: Number(res.status.observedGeneration), reportTime: timestampDate(res.status.lastReportTime).getTime() });
              ackedIds.add(c.id);
              lastAckAt = Date.now();
            }
          } catch {
            // Not acknowledged: nothing to remember (the API or Postgres is down).
          }
          await sleep(50);
        }
        if (!sent) await sleep(250);
      }
    };
    const probes = Promise.all([0, 1].map((w) => probeWorker(w, 2)));

    // --- faults ------------------------------------------------------------------------------
    /** Nudges a broker event through every adapter (the Sentinel's Reconcile), for "handling events again". */
    const nudge = async () => {
      const c = kept.find((k) => k.id !== undefined);
      if (c) await sentinel.reconcile({ resourceId: c.id! }).catch(() => undefined);
    };
    const currentPid = (name: string) => stackServices(stackPid).find((p) => p.name === name)?.pid;

    const adapterStatus = (name: string) =>
      createClient(AdapterService, createGrpcTransport({ baseUrl: adapterMetrics[name].replace(/:(\d+)\/metrics$/, (_, p: string) => `:${Number(p) - 1000}`), defaultTimeoutMs: 2000, interceptors: s.credentials }));
    /** Why a service is not healthy, in its own words (the adapter's not_consuming_reason, the Sentinel's last error). */
    const whyUnhealthy = async (name: string): Promise<string> => {
      try {
        if (name === "sentinel") {
          const st = await sentinel.getStatus({});
          const last = st.lastSuccessfulPollTime ? `${((Date.now() - timestampDate(st.lastSuccessfulPollTime).getTime()) / 1000).toFixed(0)} s ago` : "never";
          return `sentinel: last good poll ${last}${st.lastError ? `, last error: ${st.lastError.slice(0, 160)}` : ""}`;
        }
        if (adapterMetrics[name]) {
          const st = await adapterStatus(name).getStatus({});
          return `${name}: ${st.consuming ? "consuming" : `not consuming (${st.notConsumingReason.slice(0, 160)})`}`;
        }
        return `${name}: unhealthy`;
      } catch (err) {
        return `${name}: not answering (${ConnectError.from(err).message.slice(0, 80)})`;
      }
    };

    /**
     * Polls `pending` (undefined once recovered, else what is still missing) until it recovers or the
     * bound passes; logs each change of what it is waiting for, with the time since `from`.
     */
    const recovery = async (label: string, from: number, pending: () => Promise<string | undefined>): Promise<{ ms?: number; last?: string }> => {
      let last: string | undefined;
      const deadline = from + opts.recoveryBoundMs * 2;
      for (;;) {
        const what = await pending();
        if (what === undefined) return { ms: Date.now() - from };
        if (what !== last) log(`${opts.broker}: ${label}: +${((Date.now() - from) / 1000).toFixed(1)} s waiting for ${what}`);
        last = what;
        if (Date.now() > deadline) return { last };
        await sleep(250);
      }
    };

    const strike = async (fault: Fault, at: number): Promise<FaultOutcome> => {
      const outcome: FaultOutcome = { label: fault.label, at, outageMs: 0, criterion: "" };
      let result: { ms?: number; last?: string } = {};
      try {
        if (fault.kind === "kill") {
          const name = fault.service!;
          let pid: number | undefined;
          await until(() => (pid = currentPid(name)) !== undefined, 30_000);
          if (pid === undefined) throw new Error(`no ${name} process to kill`);
          const killedAt = Date.now();
          process.kill(pid, "SIGKILL");
          const metrics = metricsOf[name];
          const isClusterAdapter = CLUSTER_ADAPTERS.includes(name);
          outcome.criterion =
            name === "api" ? "new process healthy, a report stored" : isClusterAdapter ? "new process consuming, an event handled" : name === "sentinel" ? "new process healthy (a poll succeeded)" : "new process consuming";
          result = await recovery(fault.label, killedAt, async () => {
            const now = currentPid(name);
            if (now === undefined || now === pid) return `a new ${name} process`;
            if (!(await healthy(metrics))) return await whyUnhealthy(name);
            if (name === "api" && lastAckAt <= killedAt) return "a probe report stored";
            if (isClusterAdapter && ((await eventsHandled(metrics)) ?? 0) === 0) {
              await nudge();
              return `${name} to handle an event`;
            }
            return undefined;
          });
        } else if (fault.kind === "postgres") {
          const downAt = Date.now();
          await pgServer!.crash();
          await pgServer!.start();
          const upAt = Date.now();
          outcome.outageMs = upAt - downAt;
          outcome.criterion = "API healthy, a report stored";
          result = await recovery(fault.label, upAt, async () => (!(await healthy(metricsOf.api)) ? "the API's health" : lastAckAt <= upAt ? "a probe report stored" : undefined));
        } else {
          const downAt = Date.now();
          await broker!.stop();
          await sleep(BROKER_OUTAGE_MS);
          await broker!.start();
          const upAt = Date.now();
          outcome.outageMs = upAt - downAt;
          outcome.criterion = "every adapter consuming and handling events, Sentinel healthy";
          // Events each cluster adapter process had handled at the restore; a process restarted since counts from zero.
          const before = new Map<string, { pid?: number; events: number }>();
          for (const a of CLUSTER_ADAPTERS) before.set(a, { pid: currentPid(a), events: (await eventsHandled(adapterMetrics[a])) ?? 0 });
          result = await recovery(fault.label, upAt, async () => {
            const missing: string[] = [];
            for (const name of [...Object.keys(adapterMetrics), "sentinel"]) if (!(await healthy(metricsOf[name]))) missing.push(await whyUnhealthy(name));
            if (missing.length) return missing.join("; ");
            const idle: string[] = [];
            for (const a of CLUSTER_ADAPTERS) {
              const n = await eventsHandled(adapterMetrics[a]);
              const b = before.get(a)!;
              if (n === undefined || n <= (currentPid(a) === b.pid ? b.events : 0)) idle.push(a);
            }
            if (idle.length === 0) return undefined;
            await nudge();
            return `an event handled by ${idle.join(", ")}`;
          });
        }
        outcome.recoveredMs = result.ms;
        if (result.ms === undefined) outcome.error = `still waiting for ${result.last}`;
      } catch (err) {
        outcome.error = err instanceof Error ? err.message : String(err);
      }
      log(`${opts.broker}: ${fault.label} (at ${(at / 1000).toFixed(1)} s): ${outcome.recoveredMs === undefined ? `NOT RECOVERED: ${outcome.error ?? ""}` : `recovered after ${(outcome.recoveredMs / 1000).toFixed(1)} s`}`);
      return outcome;
    };

    /** For a fleet that did not converge: the Sentinel's and the adapters' own status, their counters, and one stuck cluster's rows. */
    const diagnose = async (fleetNow: Map<string, ClusterView>): Promise<string> => {
      const lines: string[] = [];
      const safe = async (what: string, fn: () => Promise<string>) => {
        try {
          lines.push(`  ${what}: ${await fn()}`);
        } catch (err) {
          lines.push(`  ${what}: ${ConnectError.from(err).message}`);
        }
      };
      await safe("sentinel GetStatus", async () => JSON.stringify(toJson(SentinelServiceGetStatusResponseSchema, await sentinel.getStatus({}))));
      await safe("sentinel metrics", async () =>
        (await (await fetch(metricsOf.sentinel)).text())
          .split("\n")
          .filter((l) => l.startsWith("hyperfleet_sentinel_") && !l.includes("_bucket"))
          .join(" | "),
      );
      for (const a of Object.keys(adapterMetrics)) await safe(`${a} GetStatus`, async () => JSON.stringify(toJson(AdapterServiceGetStatusResponseSchema, await adapterStatus(a).getStatus({}))));
      const stuck = [...fleetNow.values()].find((c) => !c.deleting && (c.phase !== "Ready" || c.observedGeneration !== c.generation));
      if (stuck) {
        await safe(`stuck cluster ${stuck.name} (${stuck.id}) generation ${stuck.generation}`, async () =>
          (await api.statuses.listStatuses({ resourceId: stuck.id })).statuses
            .map((r) => `${r.adapter}@${r.observedGeneration} ${r.lastReportTime ? timestampDate(r.lastReportTime).toISOString() : "-"} ${r.conditions.map((c) => `${c.type}=${c.status}${c.reason ? `(${c.reason})` : ""}`).join(",")}`)
            .join("; "),
        );
      }
      return lines.join("\n");
    };

    const faultRuns: Promise<FaultOutcome>[] = [];
    // A fault strikes at its planned time, or once the one before it has recovered (or given up), if that
    // is later: each recovery time is then that fault's own, not the sum of two overlapping ones.
    const faults = (async () => {
      for (const { at, fault } of schedule) {
        const wait = t0 + at - Date.now();
        if (wait > 0) await sleep(wait);
        log(`${opts.broker}: ${(since() / 1000).toFixed(1)} s: ${fault.label}`);
        const run = strike(fault, since());
        faultRuns.push(run);
        await run;
      }
    })();

    // --- the end: every op done, then convergence ----------------------------------------------
    await faults;
    await rollout;
    const windowEnd = t0 + opts.windowMs;
    if (Date.now() < windowEnd) await sleep(windowEnd - Date.now());
    const faultOutcomes = await Promise.all(faultRuns);
    log(`${opts.broker}: rollout done at ${(since() / 1000).toFixed(1)} s; waiting for the fleet to converge`);

    const liveIds = () => new Set(clusters.filter((c) => c.id && !c.deleteAcked).map((c) => c.id!));
    const readFleet = async (): Promise<Map<string, ClusterView>> => {
      const out = new Map<string, ClusterView>();
      let pageToken = "";
      do {
        const page = await api.clusters.listClusters({ pageSize: 1000, pageToken, showDeleted: true });
        for (const c of page.clusters) {
          out.set(c.id, {
            id: c.id,
            name: c.name,
            generation: Number(c.generation),
            observedGeneration: Number(c.status?.observedGeneration ?? 0),
            phase: c.status?.phase === Phase.READY ? "Ready" : c.status?.phase === Phase.NOT_READY ? "NotReady" : "Unspecified",
            deleting: c.deletedTime !== undefined,
            spec: canonicalJson(c.spec),
          });
        }
        pageToken = page.nextPageToken;
      } while (pageToken);
      return out;
    };
    const expected = (): Expected[] => clusters.filter((c) => c.id !== undefined).map((c) => ({ id: c.id!, name: c.name, spec: c.spec, deleted: c.deleteAcked }));
    let fleet = new Map<string, ClusterView>();
    let objects: KubeObjectSeen[] = [];
    const convergeStart = Date.now();
    const converged = await until(async () => {
      try {
        fleet = await readFleet();
        objects = await listAdapterObjects(s.kubeUrl, "hyperfleet");
      } catch {
        return false;
      }
      const e = expected();
      return checkLiveReady(e, fleet).ok && checkDeletedGone(e, fleet).ok && checkOrphans(objects, new Set(fleet.keys())).ok;
    }, opts.convergeTimeoutMs, 1000);
    const convergedAfterMs = converged ? Date.now() - convergeStart : undefined;
    log(`${opts.broker}: ${converged ? `converged ${((convergedAfterMs ?? 0) / 1000).toFixed(1)} s after the rollout` : `NOT converged within ${opts.convergeTimeoutMs / 1000} s`}`);
    const diagnosis = converged ? "" : await diagnose(fleet);

    // Stop the probe, then read what it reported through the API, as a user would.
    running = false;
    await probes;
    await rowLoop;
    await sampleRows();
    sampleProcesses();
    const finalProbe = new Map<string, { generation: number; reportTime: number }>();
    for (const c of kept) {
      if (!c.id) continue;
      const res = await api.statuses.listStatuses({ resourceId: c.id });
      const row = res.statuses.find((r) => r.adapter === PROBE_ADAPTER);
      if (row?.lastReportTime) finalProbe.set(c.id, { generation: Number(row.observedGeneration), reportTime: timestampDate(row.lastReportTime).getTime() });
    }

    const e = expected();
    const liveMap = new Map([...fleet.values()].filter((c) => liveIds().has(c.id)).map((c) => [c.id, { name: c.name, generation: c.generation }]));
    const inEffect = checkWritesInEffect(e, fleet);
    const writes: Check = failedOps.length
      ? { ...inEffect, ok: false, detail: `${failedOps.length} operations never acknowledged: ${failedOps.slice(0, 3).join("; ")}${inEffect.ok ? "" : `; ${inEffect.detail}`}` }
      : inEffect;
    const checks: Check[] = [
      checkRecovered(faultOutcomes, opts.recoveryBoundMs),
      checkLiveReady(e, fleet),
      checkDeletedGone(e, fleet),
      writes,
      checkValidationJobs(jobsSeen, objects, liveMap),
      // An object is orphaned when its cluster is gone from the API altogether; one of a cluster still
      // being deleted is not (a deletion that never finishes fails "every deleted cluster ... removed").
      checkOrphans(objects, new Set(fleet.keys())),
      rows.check(),
      checkAcked(acked, finalProbe, recreated),
      checkBudget(peaks, opts.rssBudgetMb),
    ];
    return {
      broker: opts.broker,
      clusters: opts.clusters,
      seed: rnd.seed,
      faults: faultOutcomes,
      checks,
      ok: checks.every((c) => c.ok),
      convergedAfterMs,
      totalMs: Date.now() - started,
      diagnosis,
      stackLog: s.logs(),
    };
  } finally {
    for (const c of cleanups) await Promise.resolve().then(c).catch(() => undefined);
    const namespace = stack?.namespace;
    await stack?.stop().catch((err) => log(`stopping the stack: ${err}`));
    await pgServer?.destroy().catch((err) => log(`stopping the private Postgres: ${err}`));
    await broker?.close().catch(() => undefined);
    if (opts.broker === "rabbitmq" && namespace) await cleanRabbit(namespace).catch((err) => log(`cleaning RabbitMQ: ${err}`));
  }
}
