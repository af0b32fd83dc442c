import { Counter, Gauge, Histogram } from "prom-client";
import type { ApiClient } from "../shared/api-client.js";
import type { ConsumerState } from "../shared/broker/index.js";
import type { Logger } from "../shared/log.js";
import { createRpcMetrics, type RpcMetrics } from "../shared/metrics.js";
import { createRpcServer, observeInterceptor, ServingStatus, type ServeTls } from "../shared/rpc/index.js";
import type { AdapterPlan } from "./adapter-config.js";
import type { RpcConfig } from "../shared/config.js";
import { createEventHandler } from "./consumer.js";
import { adapterHealth } from "./core/health.js";
import { errorInterceptor } from "./errors.js";
import { createKubeObjects, type KubeObjects, type KubeTarget } from "./kube.js";
import type { ObjectCache } from "./object-cache.js";
import { createOrphanSweeper, type OrphanSweeper } from "./orphan-sweep.js";
import { reconcile } from "./reconcile.js";
import { ADAPTER_SERVICES, routes } from "./routes.js";
import { observeAuth, type Authenticator } from "../shared/auth/index.js";

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
  /** How far the Sentinel's clock may run behind ours when deciding an event is Superseded (default 1 s). */
  eventClockSkewMs?: number;
  /** Where reconciles read the adapter's own objects from when it can answer (fed by the owned-object watch). */
  cache?: ObjectCache;
  /** See AdapterProcessConfig.driftCheckAfterMs. */
  driftCheckAfterMs?: number;
  /** The server's bounds and fast path (shared/config.ts rpcConfig); defaults when omitted. */
  rpc?: RpcConfig;
  /** Who may call what (shared/auth): DryRun is the operator's, GetStatus a reader's. */
  auth: Authenticator;
  /** Serve TLS (and require client certificates when it has a CA): shared/tls-config.ts tlsConfig. */
  tls?: ServeTls;
}

/** An unstarted adapter and what to wire to the broker and the metrics server. */
export interface Adapter {
  server: ReturnType<typeof createRpcServer>;
  /** The message handler to subscribe. */
  handler: ReturnType<typeof createEventHandler>;
  metrics: RpcMetrics;
  kube: KubeObjects;
  /** Give to subscribe as `onState`: health, GetStatus, metrics and logs follow the consumer. */
  observeConsumer: (state: ConsumerState) => void;
  /** True while the adapter consumes its subscription (grpc health and /healthz). */
  healthy: () => boolean;
  /** Deletes objects whose resource is gone; main.ts starts its timer (ORPHAN_SWEEP_INTERVAL). */
  sweeper: OrphanSweeper;
}

export function createServer(deps: AdapterDeps): Adapter {
  const metrics = createRpcMetrics("hyperfleet_adapter");
  const r = [metrics.registry];
  const events = new Counter({ name: "hyperfleet_adapter_events_total", help: "Reconcile requests processed, by outcome and trigger (event: from the broker; watch: an owned object changed).", labelNames: ["adapter", "outcome", "trigger"] as const, registers: r });
  const duration = new Histogram({ name: "hyperfleet_adapter_event_duration_seconds", help: "Time to process one event.", labelNames: ["adapter"] as const, buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: r });
  const eventAge = new Histogram({ name: "hyperfleet_adapter_event_age_seconds", help: "Age of a broker event when it reaches the adapter (now minus the event's time): how far behind the Sentinel the adapter is.", labelNames: ["adapter"] as const, buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: r });
  const eventAgeMax = new Gauge({ name: "hyperfleet_adapter_event_age_max_seconds", help: "The oldest broker event the adapter has taken since it started.", labelNames: ["adapter"] as const, registers: r });
  let oldestEvent = 0;
  const kubeCalls = new Counter({ name: "hyperfleet_adapter_kube_calls_total", help: "Kubernetes API calls by verb and result code.", labelNames: ["adapter", "verb", "code"] as const, registers: r });
  const adapter = deps.plan.name;
  const kube = "target" in deps.kube ? createKubeObjects(deps.kube.target, deps.kube.timeoutMs, (verb, code) => kubeCalls.inc({ adapter, verb, code })) : deps.kube;
  const now = deps.now ?? (() => new Date());
  const objectReads = new Counter({ name: "hyperfleet_adapter_object_reads_total", help: "Reads of the adapter's own objects during reconciles, by where they were answered (cache, kubernetes, drift-check: a Ready resource's event, always from Kubernetes).", labelNames: ["adapter", "source"] as const, registers: r });
  const consuming = new Gauge({ name: "hyperfleet_adapter_broker_consuming", help: "1 while the adapter takes events from its subscription, 0 while it does not (grpc health is then NOT_SERVING).", labelNames: ["adapter"] as const, registers: r });
  const resubscribes = new Counter({ name: "hyperfleet_adapter_broker_resubscribes_total", help: "Times the adapter subscribed again after losing its subscription or its broker connection.", labelNames: ["adapter"] as const, registers: r });
  consuming.set({ adapter }, 0);
  let consumer: ConsumerState | undefined;
  const observeConsumer = (state: ConsumerState) => {
    if (consumer && state.resubscribes > consumer.resubscribes) resubscribes.inc({ adapter }, state.resubscribes - consumer.resubscribes);
    const was = consumer?.consuming;
    consumer = state;
    consuming.set({ adapter }, state.consuming ? 1 : 0);
    // Transitions only: each failed attempt in between is logged by the broker's onError.
    if (state.consuming === was) return;
    if (!state.consuming && state.fault) deps.log.warn({ subscription: deps.subscription, reason: adapterHealth(state).reason, error: state.reason }, "not consuming; NOT_SERVING until subscribed again");
    else if (!state.consuming) deps.log.info({ subscription: deps.subscription }, "stopped consuming");
    else if (was === false) deps.log.info({ subscription: deps.subscription, resubscribes: state.resubscribes }, "consuming again");
  };
  const healthy = () => adapterHealth(consumer).serving;
  const swept = new Counter({ name: "hyperfleet_adapter_orphans_swept_total", help: "Objects deleted by the orphan sweep because their resource no longer exists.", labelNames: ["adapter"] as const, registers: r });
  const sweepErrors = new Counter({ name: "hyperfleet_adapter_orphan_sweep_errors_total", help: "Orphan sweep failures by stage: list (Kubernetes), api (could not tell whether a resource exists; its objects are kept), delete.", labelNames: ["adapter", "stage"] as const, registers: r });
  const sweepDuration = new Histogram({ name: "hyperfleet_adapter_orphan_sweep_duration_seconds", help: "Time of one orphan sweep, by trigger (interval, or resource-gone: a reconcile found its resource NotFound).", labelNames: ["adapter", "trigger"] as const, buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60], registers: r });
  swept.inc({ adapter }, 0);
  const sweeper = createOrphanSweeper({
    plan: deps.plan,
    api: deps.api,
    kube,
    log: deps.log,
    onDeleted: () => swept.inc({ adapter }),
    onError: (stage) => sweepErrors.inc({ adapter, stage }),
    onDone: (trigger, seconds) => sweepDuration.observe({ adapter, trigger }, seconds),
  });
  const rdeps = { plan: deps.plan, api: deps.api, kube, cache: deps.cache, driftCheckAfterMs: deps.driftCheckAfterMs, now, onObjectRead: (source: string) => objectReads.inc({ adapter, source }) };
  // A resource found NotFound (force-deleted, or removed while another replica was creating for it) has
  // its objects swept at once, inside its turn of the per-resource queue.
  const reconcileAndSweep = async (id: string) => {
    const result = await reconcile(rdeps, id);
    if (result.outcome === "ResourceGone") {
      const s = await sweeper.sweepOwner(id);
      for (const ref of s.deleted) {
        result.trace.push(`${ref.kind} ${ref.name}: deleted (its resource is gone)`);
        result.objects.push({ id: "orphan", ...ref, action: "delete", reason: "OwnerGone" });
      }
    }
    return result;
  };
  const handler = createEventHandler({
    resourceKind: deps.plan.resourceKind,
    reconcile: reconcileAndSweep,
    log: deps.log,
    now,
    maxPoked: deps.maxPoked,
    eventClockSkewMs: deps.eventClockSkewMs,
    observeEventAge: (seconds) => {
      eventAge.observe({ adapter }, seconds);
      if (seconds > oldestEvent) eventAgeMax.set({ adapter }, (oldestEvent = seconds));
    },
    observe: (outcome, seconds, trigger) => {
      events.inc({ adapter, outcome, trigger });
      duration.observe({ adapter }, seconds);
    },
  });
  const auth = observeAuth(deps.auth, metrics.registry, "hyperfleet_adapter");
  const server = createRpcServer({
    tls: deps.tls,
    limits: deps.rpc?.limits,
    fastPath: deps.rpc?.fastPath,
    services: ADAPTER_SERVICES,
    interceptors: [observeInterceptor(deps.log, metrics), auth.interceptor, errorInterceptor],
    requestGate: auth.requestGate,
    health: () => (healthy() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING),
    routes: routes({ adapter, subscription: deps.subscription, stats: handler.stats, consumer: () => consumer, dryRun: (id) => reconcile(rdeps, id, true) }),
  });
  return { server, handler, metrics, kube, observeConsumer, healthy, sweeper };
}
