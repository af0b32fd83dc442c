/** `npm run provision`: creates the topics, subscriptions and dead-letter topics of TOPIC_NAMESPACE (idempotent). */
import { buildTopology, createBroker } from "../shared/broker/index.js";
import { loadConfig } from "./config.js";

// No GCE metadata probing (and its warnings) on a developer machine.
process.env.METADATA_SERVER_DETECTION ??= "none";

const config = loadConfig(process.env);
const broker = createBroker(config.broker);
const topology = buildTopology(config.namespace, { clusters: config.clusterAdapters, nodepools: config.nodepoolAdapters });
await broker.provision(topology);
await broker.close();
for (const t of topology.topics) console.log(`${t.name}: ${t.subscriptions.map((s) => `${s.name} (dead letters: ${s.deadLetterTopic})`).join(", ")}`);
