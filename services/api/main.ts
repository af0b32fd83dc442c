import { createLogger } from "../shared/log.js";
import { createMetricsServer } from "../shared/rpc/index.js";
import { ConfigError } from "../shared/config.js";
import { loadConfig } from "./config.js";
import { openDatabase } from "./database.js";
import { createServer } from "./server.js";
import { createDbProbe } from "./store/db.js";
import { listenForChanges } from "./store/change-listener.js";
import { createChangeFeed } from "./store/change-feed.js";
import { createChangeBell } from "./watch.js";
import { CHANGE_RETENTION_MS } from "./core/watch-token.js";
import { SchemaBehindError } from "./store/schema.js";
import { onShutdown } from "../shared/shutdown.js";
import { tuneGarbageCollector } from "../shared/gc-tuning.js";
import { serverAuth } from "../shared/auth/index.js";
import { watchServerTls } from "../shared/tls-config.js";

async function main(): Promise<void> {
  tuneGarbageCollector();
  const config = loadConfig(process.env);
  const log = createLogger("api", config.logLevel);
  // Before the database: a refused AUTH=none or a bad issuer stops the start at once.
  const auth = serverAuth(config.auth, config.host, log);
  const { db, embedded } = await openDatabase(config, log);
  const probe = createDbProbe(db);
  // A server of its own: every replica's writes reach every replica's watchers through LISTEN. The
  // embedded PGlite serves one session: there this process's own writes ring the bell (server.ts).
  const changeBell = embedded ? undefined : createChangeBell();
  const listener = changeBell && config.databaseUrl ? listenForChanges(config.databaseUrl, changeBell, log, { connectTimeoutMs: config.dbConnectTimeoutMs, keepAliveDelayMs: config.dbKeepAliveDelayMs }) : undefined;
  // Removals stay replayable for CHANGE_RETENTION_MS; every replica prunes (a delete of nothing is cheap).
  const feed = createChangeFeed(db);
  const prune = setInterval(() => void feed.prune(CHANGE_RETENTION_MS).catch((err: unknown) => log.warn({ err: String(err) }, "pruning the change feed failed; trying again later")), 5 * 60_000);
  prune.unref();
  const { server, metrics } = createServer({
    changeBell,
    changeListenerUp: listener ? () => listener.live() : undefined,
    db,
    log,
    clusterAdapters: config.clusterAdapters,
    nodepoolAdapters: config.nodepoolAdapters,
    optionalAdapters: { clusters: config.clusterOptionalAdapters, nodepools: config.nodepoolOptionalAdapters },
    reportBatchesInFlight: config.reportBatchesInFlight,
    reportQueueMax: config.reportQueueMax,
    reportQueuePerResource: config.reportQueuePerResource,
    reportQueueTimeoutMs: config.reportQueueTimeoutMs,
    dbHealthy: probe.healthy,
    rpc: config.rpc,
    auth,
    tls: config.tls,
  });
  const stopTlsWatch = watchServerTls(process.env, server, log);
  const metricsServer = createMetricsServer(metrics.registry, probe.healthy);
  const port = await server.listen(config.port, config.host);
  const metricsPort = await metricsServer.listen(config.metricsPort, config.host);
  log.info({ url: `${config.tls ? "https" : "http"}://${config.host}:${port}`, tls: config.tls ? (config.tls.ca ? "mtls" : "tls") : "off", auth: config.auth.mode, metrics: `http://${config.host}:${metricsPort}/metrics` }, "api listening");

  onShutdown(log, [
    () => stopTlsWatch(),
    () => probe.stop(),
    () => clearInterval(prune),
    () => listener?.close(),
    () => server.close(),
    () => metricsServer.close(),
    () => db.destroy(),
    () => embedded?.stop(),
  ]);
}

main().catch((err) => {
  // Both say what to change (a variable, or `npm run migrate`): plain text, not a stack.
  if (err instanceof ConfigError || err instanceof SchemaBehindError) console.error(err.message);
  else console.error(JSON.stringify({ level: 60, service: "api", msg: "failed to start", err: String(err?.stack ?? err) }));
  process.exit(1);
});
