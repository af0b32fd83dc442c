/**
 * Benchmark: how soon the system hears of a change (issue 20). On a whole stack at the default
 * POLL_INTERVAL (10 s), with the stand-in's Jobs and DNS delay at 0 (so Ready time is the system's own
 * overhead, not Job time), creates clusters at a steady rate and measures, per cluster, from the
 * moment the create was sent:
 *   first event      the Sentinel's decision (the CloudEvent's time, its clock = this machine's)
 *   event received   a subscriber of the topic has it
 *   first report     the first adapter status row (created_time, the API's clock)
 *   Ready            status.last_transition_time of the Ready phase
 * then, with nothing changing, the Sentinels' CPU over an idle stretch. `watch: false` runs the same
 * with WATCH=false, the poll alone: the A/B.
 *
 * The first `warmup` creates (10 s at 10/s) are measured apart: they meet processes that have just
 * started (code not yet optimised by V8, pools and plans not yet filled), which took first event p50
 * from ~13 to ~55 ms and Ready p50 from ~320 to ~820 ms in the first 5 s of a run. A deployment meets
 * that once per restart; the `creates` after them are the running system a user meets.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ResourceView } from "../gen/hyperfleet/v1/resource_status_pb.js";
import { SentinelService } from "../gen/hyperfleet/v1/sentinel_pb.js";
import { createApiClient } from "../services/shared/api-client.js";
import { brokerConfig, createBroker, subscriptionName, topicName, topicTopology } from "../services/shared/broker/index.js";
import { decodeReconcileEvent } from "../services/shared/events/index.js";
import { startStack } from "../test/support/start-stack.js";
import { cpuSeconds, peakRssMb, sleep, table } from "./support.js";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

export interface LatencyOptions {
  creates: number;
  /** Creates before the measured ones, reported apart as the cold start. */
  warmup: number;
  perSecond: number;
  watch: boolean;
  /** Seconds of nothing changing over which the Sentinels' CPU is measured. */
  idleSeconds: number;
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

/** The stack's Sentinel processes (children of the stack with RESOURCE_KIND set). */
function sentinels(stackPid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      if (ppid === stackPid && readFileSync(`/proc/${d}/cmdline`, "utf8").includes("sentinel")) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

export async function benchLatency(opts: LatencyOptions): Promise<Record<string, number>> {
  const stack = await startStack({ POLL_INTERVAL: "10s", STANDIN_JOB_DURATION: "0s", STANDIN_DNS_DELAY: "0s", LOG_LEVEL: "warn", WATCH: String(opts.watch) });
  const parsed = brokerConfig({ ...process.env, BROKER: "pubsub" });
  if (!("value" in parsed)) throw new Error(`broker configuration: ${parsed.error}`);
  const broker = createBroker(parsed.value);
  try {
    const topic = topicName(stack.namespace, "clusters");
    await broker.provision(topicTopology(topic, ["bench-latency"]));
    const firstEvent = new Map<string, { decided: number; received: number }>();
    const consumer = await broker.subscribe(subscriptionName(topic, "bench-latency"), async (m) => {
      const d = decodeReconcileEvent(m.data);
      if (d.ok && !firstEvent.has(d.event.data.id)) firstEvent.set(d.event.data.id, { decided: Date.parse(d.event.time), received: Date.now() });
      return "ack";
    });
    const api = createApiClient(stack.apiUrl, { timeoutMs: 30_000, interceptors: stack.credentials });
    const sentinel = createClient(SentinelService, createGrpcTransport({ baseUrl: stack.sentinelUrl, interceptors: stack.credentials }));
    // The watch is live (or, without it, the Sentinel has polled once) before the first create.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const s = await sentinel.getStatus({});
      if (opts.watch ? s.watchLive : s.pollsTotal > 0n) break;
      await sleep(100);
    }
    const sent = new Map<string, number>();
    const pending: Promise<void>[] = [];
    const started = Date.now();
    const total = opts.warmup + opts.creates;
    const cold = new Set<string>();
    for (let i = 0; i < total; i++) {
      const at = started + (i * 1000) / opts.perSecond;
      if (at > Date.now()) await sleep(at - Date.now());
      const t = Date.now();
      pending.push(
        api.clusters.createCluster({ name: `lat-${i}`, spec: { simulate: { placementDuration: "0s" } } }).then((c) => {
          sent.set(c.id, t);
          if (i < opts.warmup) cold.add(c.id);
        }),
      );
    }
    await Promise.all(pending);
    // Every cluster Ready (bounded: what has not converged in three minutes is reported as missing),
    // found by listing in the STATUS view; the first reports are read once at the end.
    const until = Date.now() + 180_000;
    const readyAt = new Map<string, number>();
    while (Date.now() < until && readyAt.size < sent.size) {
      let pageToken = "";
      do {
        const page = await api.clusters.listClusters({ filter: "status.phase = 'Ready'", view: ResourceView.STATUS, pageSize: 1000, pageToken });
        for (const c of page.clusters) if (sent.has(c.id) && c.status?.lastTransitionTime) readyAt.set(c.id, timestampDate(c.status.lastTransitionTime).getTime());
        pageToken = page.nextPageToken;
      } while (pageToken);
      if (readyAt.size < sent.size) await sleep(500);
    }
    const firstReport = new Map<string, number>();
    const ids = [...sent.keys()];
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (const id of ids.filter((_, i) => i % 8 === w)) {
          const c = await api.clusters.getCluster({ id, view: ResourceView.FULL });
          const times = c.adapterStatuses.map((st) => (st.createdTime ? timestampDate(st.createdTime).getTime() : Infinity));
          if (times.length) firstReport.set(id, Math.min(...times));
        }
      }),
    );
    const since = (m: Map<string, number>, warm = true) => [...sent].filter(([id]) => m.has(id) && cold.has(id) !== warm).map(([id, t]) => m.get(id)! - t);
    const decisions = new Map([...firstEvent].map(([id, e]) => [id, e.decided]));
    const decided = since(decisions);
    const received = since(new Map([...firstEvent].map(([id, e]) => [id, e.received])));
    const reported = since(firstReport);
    const ready = since(readyAt);
    // BENCH_LATENCY_DUMP=file: every cluster's times, for finding what the slow ones have in common.
    if (process.env.BENCH_LATENCY_DUMP) {
      const rows = [...sent].map(([id, t]) => ({ id, sent: t, decided: firstEvent.get(id)?.decided, received: firstEvent.get(id)?.received, reported: firstReport.get(id), ready: readyAt.get(id) }));
      writeFileSync(process.env.BENCH_LATENCY_DUMP, JSON.stringify(rows));
    }
    const s = await sentinel.getStatus({});
    // Nothing changes now (every cluster Ready, a few seconds for the last answers): what do the Sentinels spend?
    await sleep(5_000);
    const pids = sentinels(stack.pid!);
    const cpuBefore = pids.map(cpuSeconds);
    await sleep(opts.idleSeconds * 1000);
    const idleCpu = pids.map((p, i) => cpuSeconds(p) - cpuBefore[i]).reduce((a, b) => a + b, 0);
    const label = opts.watch ? "watch" : "poll only";
    const row = (what: string, xs: number[]) => ({ path: label, measure: what, n: xs.length, "p50 ms": pct(xs, 50), "p99 ms": pct(xs, 99), "max ms": pct(xs, 100) });
    table(`Change latency (${label}): ${opts.creates} creates (after ${opts.warmup} to warm up) at ${opts.perSecond}/s, POLL_INTERVAL 10 s, Jobs and DNS delay 0 (Ready = the system's own overhead)`, [
      row("create → first event (decided)", decided),
      row("create → event received by a subscriber", received),
      row("create → first adapter report", reported),
      row("create → Ready", ready),
      ...(opts.warmup > 0
        ? [
            row(`cold: first event, first ${opts.warmup} after start`, since(decisions, false)),
            row(`cold: first report, first ${opts.warmup} after start`, since(firstReport, false)),
            row(`cold: Ready, first ${opts.warmup} after start`, since(readyAt, false)),
          ]
        : []),
    ]);
    table(`Sentinels (${label}): events, and CPU with nothing changing`, [
      { path: label, "events total": Number(s.eventsPublishedTotal), "by watch": Number(s.watchEventsPublishedTotal), polls: Number(s.pollsTotal), [`idle CPU s over ${opts.idleSeconds} s (both)`]: Math.round(idleCpu * 1000) / 1000, "peak RSS MB (max)": Math.max(...pids.map(peakRssMb)) },
    ]);
    await consumer.close();
    return { eventP99: pct(decided, 99), reportP99: pct(reported, 99), readyP99: pct(ready, 99), idleCpu };
  } finally {
    await broker.close();
    await stack.stop();
  }
}
