import { ConfigError } from "../shared/config.js";
import { createLogger } from "../shared/log.js";
import { createApiClient } from "../shared/api-client.js";
import { createBroker, topicTopology } from "../shared/broker/index.js";
import { createMetricsServer } from "../shared/rpc/index.js";
import { loadConfig } from "./config.js";
import { createClusterLister, createNodePoolLister } from "./resource-lister.js";
import { createServer } from "./server.js";
import { onShutdown } from "../shared/shutdown.js";
import { apiCredentials, serverAuth } from "../shared/auth/index.js";
import { watchServerTls } from "../shared/tls-config.js";

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger(`sentinel-${config.kind}`, config.logLevel);
  const auth = serverAuth(config.auth, config.host, log);
  const interceptors = apiCredentials(config.apiCredentials);
  const broker = createBroker(config.broker, (err, context) => log.warn({ err: String(err), context }, "broker error"), `sentinel-${config.kind}`);
  // A fresh emulator works without hand setup: the topic and the adapters' subscriptions are ensured
  // here. A broker that is down does not stop the start: the publisher provisions them again when a
  // publish finds the topic missing, and polls that cannot publish make the Sentinel NOT_SERVING.
  await broker.provision(topicTopology(config.topic, config.adapters)).catch((err: unknown) => log.warn({ topic: config.topic, err: String(err) }, "could not provision the topic at startup; retrying on publish"));
  const api = createApiClient(config.apiUrl, { timeoutMs: config.apiTimeoutMs, fastPath: config.rpc.fastPath, interceptors, tls: config.apiTls });
  const lister = config.kind === "nodepools" ? createNodePoolLister(api) : createClusterLister(api);
  const { server, poller, watcher, metrics, healthy } = createServer({ lister, broker, config, log, rpc: config.rpc, auth, tls: config.tls });
  const stopTlsWatch = watchServerTls(process.env, server, log);
  const metricsServer = createMetricsServer(metrics.registry, healthy);
  const port = await server.listen(config.port, config.host);
  await metricsServer.listen(config.metricsPort, config.host);
  poller.start();
  watcher.start();
  log.info({ url: `${config.tls ? "https" : "http"}://${config.host}:${port}`, topic: config.topic, selector: config.labelSelector, pollIntervalMs: config.pollIntervalMs, watch: config.watch }, "sentinel polling");

  onShutdown(log, [() => stopTlsWatch(), () => watcher.stop(), () => poller.stop(), () => server.close(), () => metricsServer.close(), () => broker.close()]);
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(JSON.stringify({ level: 60, service: "sentinel", msg: "failed to start", err: String(err?.stack ?? err) }));
  process.exit(1);
});
