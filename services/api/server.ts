import { v7 as uuidv7 } from "uuid";
import { Counter, Gauge, Histogram } from "prom-client";
import { createRpcServer, observeInterceptor, ServingStatus, type ServeTls } from "../shared/rpc/index.js";
import { createRpcMetrics, type RpcMetrics } from "../shared/metrics.js";
import type { Logger } from "../shared/log.js";
import { observeAuth, type Authenticator } from "../shared/auth/index.js";
import { actorResolver } from "./actor.js";
import { errorInterceptor } from "./errors.js";
import { maxRequestBytes } from "./limits.js";
import type { RpcConfig } from "../shared/config.js";
import { API_SERVICES, routes } from "./routes.js";
import { createClusterStore, createNodePoolStore } from "./store/cluster-store.js";
import { createStatusStore } from "./store/status-store.js";
import type { Knex } from "./store/db.js";
import { createChangeFeed } from "./store/change-feed.js";
import { announceChanges, createChangeBell, createWatchers, onLocalWrites, type ChangeBell } from "./watch.js";

export interface ApiDeps {
  db: Knex;
  log: Logger;
  clusterAdapters: readonly string[];
  nodepoolAdapters?: readonly string[];
  /** Adapters whose reports are stored but decide no phase; reports from any other adapter are refused. */
  optionalAdapters?: { clusters?: readonly string[]; nodepools?: readonly string[] };
  now?: () => Date;
  newId?: () => string;
  /** Status report batches written at once (default 2). */
  reportBatchesInFlight?: number;
  /** Status reports waiting to be written, in all (default 2,000), and for one resource (default 128). */
  reportQueueMax?: number;
  reportQueuePerResource?: number;
  /** Longest a status report waits to be written (default 4 s). */
  reportQueueTimeoutMs?: number;
  /** False while the database is unreachable: health answers NOT_SERVING. */
  dbHealthy?: () => boolean;
  /** The server's bounds and fast path (shared/config.ts rpcConfig); defaults when omitted. */
  rpc?: RpcConfig;
  /** Who may call what (shared/auth createAuth): required, so that no server is ever open by omission. */
  auth: Authenticator;
  /** Serve TLS (and require client certificates when it has a CA): shared/tls-config.ts tlsConfig. */
  tls?: ServeTls;
  /**
   * What wakes the watch streams: a bell rung by Postgres notifications (listenForChanges, every
   * replica's writes). Without one, this process's own writes ring it (the embedded database, tests).
   */
  changeBell?: ChangeBell;
  /** Whether the LISTEN connection that hears other replicas' changes is up (absent: nothing listens, as on the embedded database). */
  changeListenerUp?: () => boolean;
}

/** An unstarted API server and its metrics registry. */
export function createServer(deps: ApiDeps): { server: ReturnType<typeof createRpcServer>; metrics: RpcMetrics } {
  const metrics = createRpcMetrics("hyperfleet_api");
  const reports = new Counter({
    name: "hyperfleet_api_status_reports_total",
    help: "Adapter status reports by outcome (Created, Updated, Discarded*).",
    labelNames: ["outcome"] as const,
    registers: [metrics.registry],
  });
  const batchSize = new Histogram({
    name: "hyperfleet_api_report_batch_size",
    help: "Status reports written together by one statement (reports arriving while earlier ones are written share the next).",
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [metrics.registry],
  });
  const watchersOpen = new Gauge({ name: "hyperfleet_api_watch_streams", help: "Watch streams open now, by kind.", labelNames: ["kind"] as const, registers: [metrics.registry] });
  const listenerUp = deps.changeListenerUp;
  if (listenerUp) {
    new Gauge({
      name: "hyperfleet_api_change_listener_up",
      help: "1 while the LISTEN connection that hears other replicas' changes is up; 0 while it reconnects (watchers then see other replicas' changes within 5 s instead of at once).",
      registers: [metrics.registry],
      collect() {
        this.set(listenerUp() ? 1 : 0);
      },
    });
  }
  // This process's writes ring its own watchers at once and, with a LISTENing bell (a Postgres server
  // others may share), are announced to the other replicas.
  const bell = deps.changeBell ?? createChangeBell();
  const announce = deps.changeBell ? announceChanges(deps.db, (err) => deps.log.debug({ err: String(err) }, "change announcement failed; other replicas' watchers find the change within seconds")) : undefined;
  onLocalWrites(deps.db, (kind) => {
    bell.ring(kind);
    announce?.(kind);
  });
  const watch = { feed: createChangeFeed(deps.db), bell, watchers: createWatchers({ onCount: (kind, n) => watchersOpen.set({ kind }, n) }) };
  const required = { clusters: deps.clusterAdapters, nodepools: deps.nodepoolAdapters ?? ["nodepool"] };
  const auth = observeAuth(deps.auth, metrics.registry, "hyperfleet_api");
  const server = createRpcServer({
    tls: deps.tls,
    limits: deps.rpc?.limits,
    fastPath: deps.rpc?.fastPath,
    // Each method's request size bound (limits.ts): a write carries a spec, a report its data, a read little.
    maxRequestBytesFor: (m) => maxRequestBytes(`${m.parent.typeName}/${m.name}`),
    services: API_SERVICES,
    // Refusals are observed (logged, counted) like any other outcome; domain errors are translated inside.
    interceptors: [observeInterceptor(deps.log, metrics), auth.interceptor, errorInterceptor],
    requestGate: auth.requestGate,
    health: () => (deps.dbHealthy?.() === false ? ServingStatus.NOT_SERVING : ServingStatus.SERVING),
    routes: routes({
      clusters: createClusterStore(deps.db, required),
      nodepools: createNodePoolStore(deps.db, required),
      statuses: createStatusStore(deps.db, required, {
        optional: deps.optionalAdapters,
        maxInFlight: deps.reportBatchesInFlight,
        maxQueued: deps.reportQueueMax,
        maxQueuedPerResource: deps.reportQueuePerResource,
        maxWaitMs: deps.reportQueueTimeoutMs,
        onBatch: (n) => batchSize.observe(n),
        onWriteError: (err, size) => deps.log.warn({ err: String(err), reports: size }, "batched report write failed; redoing its reports one by one"),
      }),
      log: deps.log,
      actor: actorResolver(auth.trustedProxies),
      now: deps.now ?? (() => new Date()),
      newId: deps.newId ?? (() => uuidv7()),
      onReport: (outcome) => reports.inc({ outcome }),
      watch,
    }),
  });
  return { server, metrics };
}
