import { ConfigError } from "../shared/config.js";
import { createLogger } from "../shared/log.js";
import { createApiClient } from "../shared/api-client.js";
import { createBroker, topicName, topicTopology } from "../shared/broker/index.js";
import { createMetricsServer } from "../shared/rpc/index.js";
import { AdapterConfigError, loadAdapterConfig } from "./adapter-config.js";
import { adapterSubscription, loadConfig } from "./config.js";
import { createServer } from "./server.js";
import { ensureSetup } from "./setup.js";
import { createObjectCache } from "./object-cache.js";
import { watchOwnedObjects } from "./owned-watch.js";
import { onShutdown } from "../shared/shutdown.js";
import { apiCredentials, serverAuth } from "../shared/auth/index.js";
import { watchServerTls } from "../shared/tls-config.js";

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const plan = loadAdapterConfig(config.configPath);
  const log = createLogger(`adapter-${plan.name}`, config.logLevel);
  const auth = serverAuth(config.auth, config.host, log);
  const interceptors = apiCredentials(config.apiCredentials);
  const subscription = adapterSubscription(config.namespace, plan.resourceKind, plan.name);
  const broker = createBroker(config.broker, (err, context) => log.warn({ err: String(err), context }, "broker error"), `adapter-${plan.name}`);
  // What this adapter owns: its subscription (and the topic it hangs on). Ensured now and again
  // whenever the consumer finds it gone.
  const owned = topicTopology(topicName(config.namespace, plan.resourceKind), [plan.name]);
  await broker.provision(owned);
  const api = createApiClient(config.apiUrl, { timeoutMs: config.apiTimeoutMs, fastPath: config.rpc.fastPath, interceptors, tls: config.apiTls });
  // The read cache is only as fresh as the watch that feeds it: no watch, no cache.
  const cache = config.watchObjects ? createObjectCache() : undefined;
  const { server, handler, metrics, kube, observeConsumer, healthy, sweeper } = createServer({ plan, api, kube: { target: config.kube, timeoutMs: config.kubeTimeoutMs }, subscription, log, maxPoked: config.maxConcurrency, eventClockSkewMs: config.eventClockSkewMs, cache, driftCheckAfterMs: config.driftCheckAfterMs, rpc: config.rpc, auth, tls: config.tls });
  const stopTlsWatch = watchServerTls(process.env, server, log);
  try {
    const created = await ensureSetup(plan, kube);
    if (created.length) log.info({ created }, "setup objects created");
  } catch (err) {
    // Kubernetes may come later; each event reports Health=False until it does.
    log.warn({ err: String(err) }, "setup failed; continuing");
  }
  const metricsServer = createMetricsServer(metrics.registry, healthy);
  const port = await server.listen(config.port, config.host);
  await metricsServer.listen(config.metricsPort, config.host);
  const consumer = await broker.subscribe(subscription, handler.handle, { maxInFlight: config.maxConcurrency, ensure: () => broker.provision(owned), onState: observeConsumer });
  const watcher = config.watchObjects ? watchOwnedObjects({ plan, kube, poke: handler.poke, log, cache }) : undefined;
  sweeper.start(config.orphanSweepIntervalMs);
  log.info({ url: `${config.tls ? "https" : "http"}://${config.host}:${port}`, subscription, config: config.configPath, kube: config.kube, watchObjects: config.watchObjects, orphanSweepIntervalMs: config.orphanSweepIntervalMs }, "adapter consuming");

  // Stop pulling and finish the events in flight before anything else goes.
  onShutdown(log, [() => stopTlsWatch(), () => watcher?.stop(), () => sweeper.stop(), () => handler.close(), () => consumer.close(), () => server.close(), () => metricsServer.close(), () => broker.close()]);
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof AdapterConfigError) console.error(err.message);
  else console.error(JSON.stringify({ level: 60, service: "adapter", msg: "failed to start", err: String(err?.stack ?? err) }));
  process.exit(1);
});
