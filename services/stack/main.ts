/**
 * `npm start`: the whole local system in one command. Starts the Pub/Sub emulator (unless
 * PUBSUB_EMULATOR_HOST or BROKER=rabbitmq), provisions topics and subscriptions, then each service
 * as a child process with prefixed logs. Ctrl-C / SIGTERM stops everything it started.
 */
import { buildTopology, createBroker } from "../shared/broker/index.js";
import { ConfigError } from "../shared/config.js";
import { loadConfig } from "./config.js";
import { startEmulator, type Emulator } from "./emulator.js";
import { startProcess, stopAll, waitForPort, type ProcessSpec, type RunningProcess } from "./processes.js";

const running: RunningProcess[] = [];
let emulator: Emulator | undefined;
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await stopAll(running);
    await emulator?.stop();
  }
  process.exit(code);
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // No GCE metadata probing (and its warnings) on a developer machine.
  process.env.METADATA_SERVER_DETECTION ??= "none";
  const env: Record<string, string> = { METADATA_SERVER_DETECTION: "none", TOPIC_NAMESPACE: config.namespace };
  let broker = config.broker;
  if (broker.kind === "pubsub" && !broker.emulatorHost) {
    console.log(`starting the Pub/Sub emulator on 127.0.0.1:${config.emulatorPort} ...`);
    emulator = await startEmulator(config.emulatorBin, config.emulatorPort, (line) => process.stdout.write(`pubsub    | ${line}\n`));
    broker = { ...broker, emulatorHost: emulator.host };
    env.PUBSUB_EMULATOR_HOST = emulator.host;
  }
  const admin = createBroker(broker);
  await admin.provision(buildTopology(config.namespace, { clusters: config.clusterAdapters, nodepools: config.nodepoolAdapters }));
  await admin.close();

  const specs: ProcessSpec[] = [
    {
      name: "api",
      entry: "services/api/main.ts",
      env: { ...env, API_PORT: String(config.apiPort) },
      readyPort: config.apiPort,
      endpoints: [`API                 http://127.0.0.1:${config.apiPort}`],
    },
    {
      name: "sentinel",
      entry: "services/sentinel/main.ts",
      env: { ...env, RESOURCE_KIND: "clusters", SENTINEL_PORT: String(config.sentinelPort), API_URL: `http://127.0.0.1:${config.apiPort}` },
      readyPort: config.sentinelPort,
      endpoints: [`Sentinel (clusters) http://127.0.0.1:${config.sentinelPort}`],
    },
  ];
  for (const [i, spec] of specs.entries()) {
    const proc = startProcess(spec, i, process.stdout.isTTY === true);
    running.push(proc);
    void proc.exited.then((code) => {
      if (!stopping) {
        console.error(`${spec.name} exited (${code}); stopping the stack`);
        void shutdown(1);
      }
    });
    await waitForPort(spec.readyPort, proc);
  }
  const brokerLine = broker.kind === "pubsub" ? `Pub/Sub emulator    ${broker.emulatorHost ?? "Google Cloud"}` : `RabbitMQ            ${broker.url.replace(/\/\/[^@]*@/, "//")}`;
  console.log(
    ["", "HyperFleet is running:", ...specs.flatMap((s) => s.endpoints.map((e) => `  ${e}`)), `  ${brokerLine}`, "Watch reconcile events: npm run events", "Press Ctrl-C to stop.", ""].join("\n"),
  );
}

process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
main().catch(async (err) => {
  console.error(err instanceof ConfigError ? err.message : String(err instanceof Error ? err.message : err));
  await shutdown(1);
});
