import { v7 as uuidv7 } from "uuid";
import { Counter, Gauge, Histogram } from "prom-client";
import { createReprovisioningPublisher, topicTopology, type Broker } from "../shared/broker/index.js";
import type { Logger } from "../shared/log.js";
import { createRpcMetrics, type RpcMetrics } from "../shared/metrics.js";
import { createRpcServer, observeInterceptor, ServingStatus, type ServeTls } from "../shared/rpc/index.js";
import { errorInterceptor } from "./errors.js";
import { createPoller, type PollConfig, type PollObserver, type Poller } from "./poll-loop.js";
import type { ResourceLister } from "./resource-lister.js";
import { createWatchLoop, type WatchLoop } from "./watch-loop.js";
import { routes, SENTINEL_SERVICES } from "./routes.js";
import type { RpcConfig } from "../shared/config.js";
import { observeAuth, type Authenticator } from "../shared/auth/index.js";

export interface SentinelDeps {
  lister: ResourceLister;
  broker: Broker;
  /** `adapters`: the subscriptions provisioned with the topic when a publish finds it missing (as at startup). */
  config: PollConfig & { kind: string; labelSelector: string; adapters?: readonly string[]; watch?: boolean };
  log: Logger;
  now?: () => Date;
  newId?: () => string;
  /** The server's bounds and fast path (shared/config.ts rpcConfig); defaults when omitted. */
  rpc?: RpcConfig;
  /** Who may call what (shared/auth): Reconcile is the operator's, GetStatus a reader's. */
  auth: Authenticator;
  /** Serve TLS (and require client certificates when it has a CA): shared/tls-config.ts tlsConfig. */
  tls?: ServeTls;
}

/** An unstarted Sentinel: its RPC server, its poller (call start()) and metrics. */
export function createServer(deps: SentinelDeps): { server: ReturnType<typeof createRpcServer>; poller: Poller; watcher: WatchLoop; metrics: RpcMetrics; healthy: () => boolean } {
  const metrics = createRpcMetrics("hyperfleet_sentinel");
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const r = [metrics.registry];
  const polls = new Counter({ name: "hyperfleet_sentinel_polls_total", help: "Polls by result.", labelNames: ["result"] as const, registers: r });
  const duration = new Histogram({ name: "hyperfleet_sentinel_poll_duration_seconds", help: "Duration of one poll (all pages).", buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: r });
  const published = new Counter({ name: "hyperfleet_sentinel_events_published_total", help: "Reconcile events published, by decision reason.", labelNames: ["reason"] as const, registers: r });
  const errors = new Counter({ name: "hyperfleet_sentinel_errors_total", help: "Failed API calls (list) and publishes.", labelNames: ["stage"] as const, registers: r });
  const due = new Gauge({ name: "hyperfleet_sentinel_due_resources", help: "Resources found due by the last poll.", registers: r });
  const skipped = new Counter({
    name: "hyperfleet_sentinel_skipped_total",
    help: "Resources left out of a poll and retried the next, by reason: the API could not list it (list), its row could not be read (read), decide() failed (decide), its event was not published (publish).",
    labelNames: ["reason"] as const,
    registers: r,
  });
  const read = new Counter({ name: "hyperfleet_sentinel_resources_read_total", help: "Resources the API returned to polls (due by the server's filter; decide() then publishes some).", registers: r });
  const awaiting = new Gauge({ name: "hyperfleet_sentinel_awaiting_adapters", help: "Resources the last poll held back because the adapters have not answered their last event yet (flow control).", registers: r });
  const answer = new Gauge({ name: "hyperfleet_sentinel_answer_seconds", help: "How long the adapters have recently taken to answer an event (every required adapter reported after it); an unanswered event is repeated only after a multiple of this.", registers: r });
  const held = new Gauge({ name: "hyperfleet_sentinel_held_resources", help: "Due resources the last poll left for a later one because the window of unanswered events was full (flow control).", registers: r });
  const flowWindow = new Gauge({ name: "hyperfleet_sentinel_flow_window", help: "How many events may wait for the adapters' answers at once (flow control; grows while answers come within two poll intervals).", registers: r });
  const observer: PollObserver = {
    pollDone(result, poll, window) {
      polls.inc({ result });
      read.inc(poll.seen);
      duration.observe(poll.durationMs / 1000);
      due.set(poll.due);
      awaiting.set(poll.awaiting);
      held.set(poll.held);
      flowWindow.set(window);
      answer.set((poller.stats().answerMs ?? 0) / 1000);
    },
    published: (reason) => published.inc({ reason }),
    error: (stage) => errors.inc({ stage }),
    skipped: (reason) => skipped.inc({ reason }),
  };
  const reprovisions = new Counter({ name: "hyperfleet_sentinel_broker_reprovisions_total", help: "Times a publish found the topic missing and the Sentinel provisioned its topic and the adapters' subscriptions again, by result.", labelNames: ["result"] as const, registers: r });
  // The topic is the Sentinel's: a broker that lost it (restarted empty, topic deleted) gets it back on the next publish.
  const publisher = createReprovisioningPublisher(deps.broker, topicTopology(deps.config.topic, deps.config.adapters ?? []), {
    reprovisioned(err) {
      reprovisions.inc({ result: err === undefined ? "ok" : "error" });
      if (err === undefined) {
        deps.log.warn({ topic: deps.config.topic }, "topic was missing; provisioned it and the adapters' subscriptions again; events awaiting answers were lost and go again");
        poller.eventsLost();
      }
      else deps.log.warn({ topic: deps.config.topic, err: err instanceof Error ? err.message : String(err) }, "topic is missing and provisioning it failed; retrying next publish");
    },
  });
  const poller = createPoller({ lister: deps.lister, publisher, config: deps.config, log: deps.log, now, newId: deps.newId ?? (() => uuidv7()), observer });
  const watchLive = new Gauge({ name: "hyperfleet_sentinel_watch_live", help: "1 while the watch of the API streams changes (a change is then published within milliseconds); 0 while only the poll finds them.", registers: r });
  const watchReconnects = new Counter({ name: "hyperfleet_sentinel_watch_reconnects_total", help: "Times the watch of the API had to be opened again.", registers: r });
  const watcher = createWatchLoop({
    lister: deps.config.watch === false ? { ...deps.lister, watch: undefined } : deps.lister,
    poller,
    selector: deps.config.selector,
    log: deps.log,
    onLive: (live) => {
      watchLive.set(live ? 1 : 0);
      poller.setWatchLive(live);
    },
    onReconnect: () => watchReconnects.inc(),
  });
  // Healthy while polls succeed: the last success (or start) is at most three intervals old (the
  // interval as flow control stretches it).
  const healthy = () => now().getTime() - (poller.stats().lastSuccessfulPoll ?? startedAt).getTime() <= 3 * poller.interval();
  const auth = observeAuth(deps.auth, metrics.registry, "hyperfleet_sentinel");
  const server = createRpcServer({
    tls: deps.tls,
    limits: deps.rpc?.limits,
    fastPath: deps.rpc?.fastPath,
    services: SENTINEL_SERVICES,
    interceptors: [observeInterceptor(deps.log, metrics), auth.interceptor, errorInterceptor],
    requestGate: auth.requestGate,
    health: () => (healthy() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING),
    routes: routes({ poller, watcher, lister: deps.lister, kind: deps.config.kind, labelSelector: deps.config.labelSelector, topic: deps.config.topic }),
  });
  return { server, poller, watcher, metrics, healthy };
}
