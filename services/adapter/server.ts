import { Counter, Histogram } from "prom-client";
import type { ApiClient } from "../shared/api-client.js";
import type { Logger } from "../shared/log.js";
import { createRpcMetrics, type RpcMetrics } from "../shared/metrics.js";
import { createRpcServer, observeInterceptor, type RpcServer } from "../shared/rpc/index.js";
import type { AdapterPlan } from "./adapter-config.js";
import type { RpcConfig } from "../shared/config.js";
import { createEventHandler } from "./consumer.js";
import { errorInterceptor } from "./errors.js";
import { createKubeObjects, type KubeObjects, type KubeTarget } from "./kube.js";
import type { ObjectCache } from "./object-cache.js";
import { reconcile } from "./reconcile.js";
import { ADAPTER_SERVICES, routes } from "./routes.js";

export interface AdapterDeps {
  plan: AdapterPlan;
  api: ApiClient;
  /** Either a ready KubeObjects (tests) or where to reach Kubernetes. */
  kube: KubeObjects | { target: KubeTarget; timeoutMs: number };
  subscription: string;
  log: Logger;
  now?: () => Date;
  /** Reconciles at once from owned-object changes (default 10). */
  maxPoked?: number;
  /** Where reconciles read the adapter's own objects from when it can answer (fed by the owned-object watch). */
  cache?: ObjectCache;
  /** See AdapterProcessConfig.driftCheckAfterMs. */
  driftCheckAfterMs?: number;
  /** The server's bounds and fast path (shared/config.ts rpcConfig); defaults when omitted. */
  rpc?: RpcConfig;
}

/** An unstarted adapter: its RPC server, the message handler to subscribe, and metrics. */
export function createServer(deps: AdapterDeps): { server: RpcServer; handler: ReturnType<typeof createEventHandler>; metrics: RpcMetrics; kube: KubeObjects } {
  const metrics = createRpcMetrics("hyperfleet_adapter");
  const r = [metrics.registry];
  const events = new Counter({ name: "hyperfleet_adapter_events_total", help: "Reconcile requests processed, by outcome and trigger (event: from the broker; watch: an owned object changed).", labelNames: ["adapter", "outcome", "trigger"] as const, registers: r });
  const duration = new Histogram({ name: "hyperfleet_adapter_event_duration_seconds", help: "Time to process one event.", labelNames: ["adapter"] as const, buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: r });
  const kubeCalls = new Counter({ name: "hyperfleet_adapter_kube_calls_total", help: "Kubernetes API calls by verb and result code.", labelNames: ["adapter", "verb", "code"] as const, registers: r });
  const adapter = deps.plan.name;
  const kube = "target" in deps.kube ? createKubeObjects(deps.kube.target, deps.kube.timeoutMs, (verb, code) => kubeCalls.inc({ adapter, verb, code })) : deps.kube;
  const now = deps.now ?? (() => new Date());
  const objectReads = new Counter({ name: "hyperfleet_adapter_object_reads_total", help: "Reads of the adapter's own objects during reconciles, by where they were answered (cache, kubernetes, drift-check: a Ready resource's event, always from Kubernetes).", labelNames: ["adapter", "source"] as const, registers: r });
  const rdeps = { plan: deps.plan, api: deps.api, kube, cache: deps.cache, driftCheckAfterMs: deps.driftCheckAfterMs, now, onObjectRead: (source: string) => objectReads.inc({ adapter, source }) };
  const handler = createEventHandler({
    resourceKind: deps.plan.resourceKind,
    reconcile: (id) => reconcile(rdeps, id),
    log: deps.log,
    now,
    maxPoked: deps.maxPoked,
    observe: (outcome, seconds, trigger) => {
      events.inc({ adapter, outcome, trigger });
      duration.observe({ adapter }, seconds);
    },
  });
  const server = createRpcServer({
    limits: deps.rpc?.limits,
    fastPath: deps.rpc?.fastPath,
    services: ADAPTER_SERVICES,
    interceptors: [observeInterceptor(deps.log, metrics), errorInterceptor],
    routes: routes({ adapter, subscription: deps.subscription, stats: handler.stats, dryRun: (id) => reconcile(rdeps, id, true) }),
  });
  return { server, handler, metrics, kube };
}
