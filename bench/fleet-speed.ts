/**
 * Benchmark 5: the stack as `npm start -- --speed N` runs it (every interval and stand-in duration divided
 * by N, nothing else tuned), a fleet created at once. Issue 17 found this run storming: at --speed 600 the
 * Sentinel republished unanswered events every 100 ms, the adapters' backlog grew to minutes and dns
 * ran out of heap. Prints time to all Ready, peak RSS per process, the oldest event an adapter took,
 * and how long a cluster created after the fleet converged waits for its first report.
 */
import { createApiClient } from "../services/shared/api-client.js";
import { startStack } from "../test/support/start-stack.js";
import { stackServices } from "../test/chaos/stack-processes.js";
import { byLabel, cpuSeconds, cpuSecondsOf, EMULATOR_PROCESS, peakRssMb, POSTGRES_PROCESS, sleep, sumOf, table, createFleet } from "./support.js";

/** Memory budget per service process (RSS): the 192 MB old-space heap plus code, young space and buffers. */
export const SERVICE_RSS_BUDGET_MB = 300;

export async function benchFleetSpeed(opts: { clusters: number; speed: number }): Promise<Record<string, number>> {
  const stack = await startStack({ HYPERFLEET_SPEED: String(opts.speed), LOG_LEVEL: "info" });
  const peak = new Map<string, number>();
  const pids = new Map<string, number>();
  // Sampled while the run lasts: a service restarted meanwhile has a new pid, and its old one's peak goes with it.
  const sampler = setInterval(() => {
    for (const { name, pid } of stackServices(stack.pid!)) {
      peak.set(name, Math.max(peak.get(name) ?? 0, peakRssMb(pid) || 0));
      pids.set(name, pid);
    }
  }, 250);
  try {
    const api = createApiClient(stack.apiUrl, { timeoutMs: 30_000, interceptors: stack.credentials });
    const cpuBefore = { postgres: cpuSecondsOf(POSTGRES_PROCESS), emulator: cpuSecondsOf(EMULATOR_PROCESS) };
    const started = Date.now();
    await createFleet(api, opts.clusters, {});
    let ready = 0;
    // The Sentinel's flow control and the adapters' pace over time, every 5 s.
    const trace: Record<string, number | string>[] = [];
    let lastTrace = 0;
    let lastEvents = 0;
    // Bounded: a fleet that has not converged in five minutes is reported as far as it got.
    while (ready < opts.clusters && Date.now() - started < 300_000) {
      ready = Number((await api.clusters.listClusters({ filter: "status.phase = 'Ready'", pageSize: 1 })).totalSize);
      if (Date.now() - lastTrace >= 5000) {
        lastTrace = Date.now();
        const m = await (await fetch(stack.sentinelMetricsUrl!)).text();
        const v = await (await fetch(stack.adapterMetricsUrls!.validation)).text();
        const events = sumOf(v, "hyperfleet_adapter_events_total");
        trace.push({ s: Math.round((Date.now() - started) / 1000), Ready: ready, published: sumOf(m, "hyperfleet_sentinel_events_published_total"), window: Math.round(sumOf(m, "hyperfleet_sentinel_flow_window")), "answer s": sumOf(m, "hyperfleet_sentinel_answer_seconds"), awaiting: sumOf(m, "hyperfleet_sentinel_awaiting_adapters"), held: sumOf(m, "hyperfleet_sentinel_held_resources"), "validation events/s": (events - lastEvents) / 5, "validation superseded": byLabel(v, "hyperfleet_adapter_events_total", "outcome").get("Superseded") ?? 0 });
        lastEvents = events;
      }
      if (ready < opts.clusters) await sleep(250);
    }
    const converged = (Date.now() - started) / 1000;
    // A cluster created into the converged fleet: how long until the first adapter reports on it.
    const late = await api.clusters.createCluster({ name: "late-arrival", spec: {} });
    const createdAt = Date.now();
    let firstReportMs = NaN;
    while (Date.now() - createdAt < 120_000) {
      if ((await api.statuses.listStatuses({ resourceId: late.id })).statuses.length > 0) {
        firstReportMs = Date.now() - createdAt;
        break;
      }
      await sleep(5);
    }
    // Where the late cluster's time went, from the services' JSON logs: its first event published, taken.
    const lateLines = stack.logs().split("\n").filter((l) => l.includes(late.id)).map((l) => l.slice(l.indexOf("{"))).filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { time: string; msg: string });
    const firstPublished = lateLines.find((l) => l.msg === "reconcile event published");
    const firstProcessed = lateLines.find((l) => l.msg === "event processed");
    console.log(`late cluster: first event published ${firstPublished ? Date.parse(firstPublished.time) - createdAt : NaN} ms after its create, first event processed ${firstProcessed ? Date.parse(firstProcessed.time) - createdAt : NaN} ms after`);
    const sentinel = await (await fetch(stack.sentinelMetricsUrl!)).text();
    const worstAge: Record<string, number> = {};
    for (const [adapter, url] of Object.entries(stack.adapterMetricsUrls ?? {})) {
      const t = await (await fetch(url)).text();
      worstAge[adapter] = sumOf(t, "hyperfleet_adapter_event_age_max_seconds");
    }
    const pollMs = 10_000 / opts.speed;
    table(`Fleet at --speed ${opts.speed} (poll ${pollMs.toFixed(0)} ms): ${opts.clusters} clusters created at once, then one more`, [
      {
        clusters: opts.clusters,
        Ready: ready,
        "create→all Ready s": converged,
        "events published": sumOf(sentinel, "hyperfleet_sentinel_events_published_total"),
        "late cluster: first report ms": firstReportMs,
        "late: poll intervals": firstReportMs / pollMs,
        ...Object.fromEntries(Object.entries(worstAge).map(([a, s]) => [`oldest event ${a} s`, s])),
      },
    ]);
    table("Over time (every 5 s): the Sentinel's window and the validation adapter's pace", trace);
    console.log(`Sentinel events by reason: ${[...byLabel(sentinel, "hyperfleet_sentinel_events_published_total", "reason")].map(([r, c]) => `${r} ${c}`).join(", ")}`);
    table(`Peak RSS per process (budget ${SERVICE_RSS_BUDGET_MB} MB) and CPU seconds over the whole run`, [
      ...[...peak].map(([process, mb]) => ({ process, "peak RSS MB": mb, "within budget": mb <= SERVICE_RSS_BUDGET_MB ? "yes" : "NO", "CPU s": cpuSeconds(pids.get(process)!) })),
      { process: "postgres (all backends)", "peak RSS MB": NaN, "within budget": "", "CPU s": cpuSecondsOf(POSTGRES_PROCESS) - cpuBefore.postgres },
      { process: "pubsub emulator", "peak RSS MB": NaN, "within budget": "", "CPU s": cpuSecondsOf(EMULATOR_PROCESS) - cpuBefore.emulator },
    ]);
    console.log("targets: every cluster Ready; no process above its budget; the late cluster's first report within 2 poll intervals");
    return { seconds: converged, ready, firstReportMs, maxRssMb: Math.max(...peak.values()) };
  } finally {
    clearInterval(sampler);
    await stack.stop();
  }
}
