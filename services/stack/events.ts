/**
 * `npm run events`: prints every reconcile event the Sentinel publishes, one line each, from a
 * subscription of its own (`<topic>-watch`, created on first use) so it never takes events from an adapter.
 */
import { createBroker, subscriptionName, topicName, topicTopology } from "../shared/broker/index.js";
import { ConfigError } from "../shared/config.js";
import { decodeReconcileEvent } from "../shared/events/index.js";
import { loadConfig } from "./config.js";

async function main(): Promise<void> {
  const config = loadConfig({ PUBSUB_EMULATOR_HOST: "127.0.0.1:8085", ...process.env });
  // No GCE metadata probing (and its warnings) on a developer machine: the Google client reads this itself.
  process.env.METADATA_SERVER_DETECTION ??= "none";
  const broker = createBroker(config.broker);
  const topic = topicName(config.namespace, "clusters");
  await broker.provision(topicTopology(topic, ["watch"]));
  console.log(`watching ${topic} (Ctrl-C to stop)`);
  await broker.subscribe(subscriptionName(topic, "watch"), async (m) => {
    const d = decodeReconcileEvent(m.data);
    if (d.ok) console.log(`${d.event.time}  ${d.event.type}  ${d.event.data.kind} ${d.event.data.id} generation=${d.event.data.generation}  id=${d.event.id}`);
    else console.log(`malformed message ${m.id}: ${d.detail}`);
    return "ack";
  });
  const stop = async () => {
    await broker.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : String(err instanceof Error ? err.message : err));
  process.exit(1);
});
