/** Benchmark 4: a fleet created at once converges to Ready on the whole system, with stage delays at zero. */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { SentinelService } from "../gen/hyperfleet/v1/sentinel_pb.js";
import { createApiClient } from "../services/shared/api-client.js";
import { startStack } from "../test/support/start-stack.js";
import { byLabel, cpuSeconds, cpuSecondsOf, EMULATOR_PROCESS, peakRssMb, POSTGRES_PROCESS, sleep, sumOf, table, createFleet } from "./support.js";

/** The stack's service processes by name (adapters by their ADAPTER variable). */
function services(stackPid: number): { name: string; pid: number }[] {
  const out: { name: string; pid: number }[] = [];
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      if (ppid !== stackPid) continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      const env = readFileSync(`/proc/${d}/environ`, "utf8").split("\0");
      const service = /services\/([^/]+)\/main\.ts/.exec(cmd)?.[1] ?? /(api|sentinel|adapter|kube-standin)\.mjs/.exec(cmd)?.[1] ?? cmd.split("\0").slice(0, 2).map((a) => a.split("/").pop()).join(" ");
      const adapter = env.find((e) => e.startsWith("ADAPTER="))?.slice(8);
      const kind = env.find((e) => e.startsWith("RESOURCE_KIND="))?.slice(14);
      out.push({ name: service === "adapter" ? `adapter ${adapter}` : service === "sentinel" ? `sentinel ${kind}` : service, pid: Number(d) });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

export async function benchConvergence(opts: { clusters: number; database?: "temp" | "pglite" | "own" }): Promise<Record<string, number>> {
  const stack = await startStack({ POLL_INTERVAL: "1s", MAX_AGE_NOT_READY: "2s", MAX_AGE_READY: "30m", STANDIN_JOB_DURATION: "0s", STANDIN_DNS_DELAY: "0s", LOG_LEVEL: "warn", MAX_CONCURRENCY: "32" }, { database: opts.database });
  try {
    const api = createApiClient(stack.apiUrl, { timeoutMs: 30_000, interceptors: stack.credentials });
    const sentinel = createClient(SentinelService, createGrpcTransport({ baseUrl: stack.sentinelUrl, interceptors: stack.credentials }));
    /** Status reports the API has accepted or discarded so far (its Prometheus counter). */
    const reportsSoFar = async () => sumOf(await (await fetch(stack.apiMetricsUrl!)).text(), "hyperfleet_api_status_reports_total");
    const before = { postgres: cpuSecondsOf(POSTGRES_PROCESS), emulator: cpuSecondsOf(EMULATOR_PROCESS), own: process.cpuUsage() };
    const procsBefore = new Map(services(stack.pid!).map((p) => [p.pid, cpuSeconds(p.pid)]));
    const started = Date.now();
    await createFleet(api, opts.clusters, { simulate: { placementDuration: "0s" } });
    const created = Date.now();
    let ready = 0;
    // What fills each service's memory at its peak: its own metrics, read every two seconds.
    const memoryUrls: [string, string][] = [["api", stack.apiMetricsUrl], ["sentinel clusters", stack.sentinelMetricsUrl], ...Object.entries(stack.adapterMetricsUrls ?? {}).map(([a, u]): [string, string | undefined] => [`adapter ${a}`, u])].filter((e): e is [string, string] => e[1] !== undefined);
    const memoryAtPeak = new Map<string, { rss: number; heap: number; heapTotal: number; external: number; arrayBuffers: number }>();
    let lastMemorySample = 0;
    let sampling: Promise<unknown> | undefined;
    const sampleMemory = () =>
      Promise.all(
        memoryUrls.map(async ([name, url]) => {
          try {
            const t = await (await fetch(url, { signal: AbortSignal.timeout(2_000) })).text();
            const m = { rss: sumOf(t, "process_resident_memory_bytes"), heap: sumOf(t, "nodejs_heap_size_used_bytes"), heapTotal: sumOf(t, "nodejs_heap_size_total_bytes"), external: sumOf(t, "nodejs_external_memory_bytes"), arrayBuffers: sumOf(t, "nodejs_array_buffers_bytes") };
            if (m.rss > (memoryAtPeak.get(name)?.rss ?? 0)) memoryAtPeak.set(name, m);
          } catch {
            // busy past the timeout: the next sample
          }
        }),
      );
    // Bounded: a fleet that has not converged in five minutes is reported as far as it got.
    while (ready < opts.clusters && Date.now() - started < 300_000) {
      ready = Number((await api.clusters.listClusters({ filter: "status.phase = 'Ready'", pageSize: 1 })).totalSize);
      // Beside the readiness check, never in its way: a sample waited for would delay seeing the fleet Ready.
      if (!sampling && Date.now() - lastMemorySample >= 2_000) {
        lastMemorySample = Date.now();
        sampling = sampleMemory().finally(() => (sampling = undefined));
      }
      if (ready < opts.clusters) await sleep(250);
    }
    const seconds = (Date.now() - started) / 1000;
    await sampling;
    const s = await sentinel.getStatus({});
    const reports = await reportsSoFar();
    const procs = services(stack.pid!);
    table(`Fleet convergence: ${opts.clusters} clusters created at once, stage delays 0, poll 1 s, not-ready max age 2 s`, [
      { "clusters": opts.clusters, "Ready": ready, "create s": (created - started) / 1000, "create→Ready s": seconds, "events": Number(s.eventsPublishedTotal), "events/s": Number(s.eventsPublishedTotal) / seconds, "reports": reports, "reports/s": reports / seconds },
    ]);
    // CPU used during the run: where the two cores went (Postgres backends and the emulator are not children of the stack).
    const own = process.cpuUsage(before.own);
    table("Per process: peak RSS, and CPU seconds used between the first create and the end", [
      ...procs.map((p) => ({ process: p.name, "peak RSS MB": peakRssMb(p.pid), "CPU s": cpuSeconds(p.pid) - (procsBefore.get(p.pid) ?? 0) })),
      { process: "postgres (all backends)", "peak RSS MB": NaN, "CPU s": cpuSecondsOf(POSTGRES_PROCESS) - before.postgres },
      { process: "pubsub emulator", "peak RSS MB": NaN, "CPU s": cpuSecondsOf(EMULATOR_PROCESS) - before.emulator },
      { process: "load generator (this process)", "peak RSS MB": NaN, "CPU s": (own.user + own.system) / 1e6 },
    ]);
    const mb = (b: number) => Math.round(b / 1e5) / 10;
    table("Memory at each service's highest RSS sampled (its metrics, every 2 s): V8 heap used and committed, external (buffers outside the heap)", [...memoryAtPeak].map(([process, m]) => ({ process, "RSS MB": mb(m.rss), "heap used MB": mb(m.heap), "heap committed MB": mb(m.heapTotal), "external MB": mb(m.external), "array buffers MB": mb(m.arrayBuffers) })));
    // Which calls the API served (its Prometheus counters): where its share of the CPU went.
    const metrics = await (await fetch(stack.apiMetricsUrl!)).text();
    const calls = byLabel(metrics, "hyperfleet_api_rpc_requests_total", "method");
    const durations = byLabel(metrics, "hyperfleet_api_rpc_duration_seconds_sum", "method");
    const perMethod = new Map([...calls].map(([method, n]) => [method, { calls: n, seconds: durations.get(method) ?? 0 }]));
    table("API calls during the run", [...perMethod].filter(([, e]) => e.calls > 0).sort((a, b) => b[1].calls - a[1].calls).map(([method, e]) => ({ method, calls: e.calls, "mean ms": (e.seconds / e.calls) * 1000 })));
    // Why each adapter reconciled (broker event or owned-object watch) and what it asked Kubernetes.
    const perAdapter = [];
    for (const [adapter, url] of Object.entries(stack.adapterMetricsUrls ?? {})) {
      const t = await (await fetch(url)).text();
      const row: Record<string, string | number> = { adapter };
      const triggers = byLabel(t, "hyperfleet_adapter_events_total", "trigger");
      const sources = byLabel(t, "hyperfleet_adapter_object_reads_total", "source");
      const verbs = byLabel(t, "hyperfleet_adapter_kube_calls_total", "verb");
      for (const trigger of ["event", "watch"]) row[`by ${trigger}`] = triggers.get(trigger) ?? 0;
      for (const source of ["cache", "kubernetes", "drift-check"]) row[`read ${source}`] = sources.get(source) ?? 0;
      for (const verb of ["get", "create", "patch", "delete", "list"]) row[`kube ${verb}`] = verbs.get(verb) ?? 0;
      const outcomes = byLabel(t, "hyperfleet_adapter_events_total", "outcome");
      for (const outcome of ["Superseded", "Coalesced"]) row[outcome.toLowerCase()] = outcomes.get(outcome) ?? 0;
      row.resubscribes = sumOf(t, "hyperfleet_adapter_broker_resubscribes_total");
      perAdapter.push(row);
    }
    if (stack.sentinelMetricsUrl) {
      const t = await (await fetch(stack.sentinelMetricsUrl)).text();
      const byReason = byLabel(t, "hyperfleet_sentinel_events_published_total", "reason");
      console.log(`\nSentinel events by reason: ${[...byReason].map(([reason, n]) => `${reason} ${n}`).join(", ")}`);
      console.log(`Sentinel polls: ${sumOf(t, "hyperfleet_sentinel_polls_total")}, resources the API returned to them: ${sumOf(t, "hyperfleet_sentinel_resources_read_total")}`);
    }
    if (perAdapter.length) table("Adapters: reconciles by trigger, reads of their objects by source, Kubernetes calls by verb", perAdapter);
    console.log("targets: 1,000 clusters create → Ready ≤ 30 s; no process above 250 MB");
    const apiProc = procs.find((p) => p.name === "api");
    return { seconds, ready, events: Number(s.eventsPublishedTotal), reportsPerSecond: reports / seconds, apiRssMb: apiProc ? peakRssMb(apiProc.pid) : NaN, maxRssMb: Math.max(...procs.map((p) => peakRssMb(p.pid))) };
  } finally {
    await stack.stop();
    // The stack's own log lines (warnings and errors at LOG_LEVEL warn): restarts, broker trouble.
    if (process.env.BENCH_STACK_LOG) writeFileSync(process.env.BENCH_STACK_LOG, stack.logs());
  }
}
