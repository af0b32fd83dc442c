/** `npm run provision`: creates the topics, subscriptions and dead-letter topics of TOPIC_NAMESPACE (idempotent). */
import { buildTopology, createBroker } from "../shared/broker/index.js";
import { ConfigError } from "../shared/config.js";
import { loadConfig } from "./config.js";

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // No GCE metadata probing (and its warnings) on a developer machine: the Google client reads this itself.
  process.env.METADATA_SERVER_DETECTION ??= "none";
  const broker = createBroker(config.broker);
  const topology = buildTopology(config.namespace, { clusters: config.clusterAdapters, nodepools: config.nodepoolAdapters });
  await broker.provision(topology);
  await broker.close();
  for (const t of topology.topics) console.log(`${t.name}: ${t.subscriptions.map((s) => `${s.name} (dead letters: ${s.deadLetterTopic})`).join(", ")}`);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : String(err instanceof Error ? err.message : err));
  process.exit(1);
});
