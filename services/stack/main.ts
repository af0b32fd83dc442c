/**
 * `npm start`: the whole local system in one command. Starts the Pub/Sub emulator (unless
 * PUBSUB_EMULATOR_HOST or BROKER=rabbitmq), provisions topics and subscriptions, then each service
 * as a child process with prefixed logs: the Kubernetes stand-in (unless KUBECONFIG), the API, the
 * Sentinel and the adapters. `--speed N` compresses time for demos. Ctrl-C / SIGTERM stops everything.
 */
import { buildTopology, createBroker } from "../shared/broker/index.js";
import { ConfigError } from "../shared/config.js";
import { loadConfig } from "./config.js";
import { startEmulator, type Emulator } from "./emulator.js";
import { startProcess, stopAll, waitForPort, type RunningProcess } from "./processes.js";
import { stackSpecs } from "./specs.js";
import { buildServices } from "./build.js";
import { watchParent } from "../shared/parent-watch.js";

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
  const speedArg = process.argv.indexOf("--speed");
  const env = { ...process.env, ...(speedArg > 0 ? { HYPERFLEET_SPEED: process.argv[speedArg + 1] } : {}) };
  const config = loadConfig(env);
  // No GCE metadata probing (and its warnings) on a developer machine.
  process.env.METADATA_SERVER_DETECTION ??= "none";
  let broker = config.broker;
  if (broker.kind === "pubsub" && !broker.emulatorHost) {
    console.log(`starting the Pub/Sub emulator on 127.0.0.1:${config.emulatorPort} ...`);
    emulator = await startEmulator(config.emulatorBin, config.emulatorPort, (line) => process.stdout.write(`pubsub      | ${line}\n`));
    broker = { ...broker, emulatorHost: emulator.host };
  }
  const admin = createBroker(broker);
  await admin.provision(buildTopology(config.namespace, { clusters: config.adapters, nodepools: config.nodepoolAdapters }));
  await admin.close();

  const specs = stackSpecs(config, broker);
  const bundles = await buildServices(config.buildDir);
  for (const [i, spec] of specs.entries()) {
    const proc = startProcess(spec, i, { tty: process.stdout.isTTY === true, bundles, nodeArgs: config.nodeArgs, env });
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
    [
      "",
      `HyperFleet is running${config.speed > 1 ? ` (time x${config.speed})` : ""}:`,
      ...specs.flatMap((s) => s.endpoints.map((e) => `  ${e}`)),
      `  ${brokerLine}`,
      "Watch reconcile events: npm run events",
      ...(config.kubeconfig ? [] : [`See what the adapters did: kubectl get jobs,dnsrecords -A   (the stand-in on :${config.standinPort})`]),
      "Press Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
}

process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
watchParent(() => void shutdown(0));
main().catch(async (err) => {
  console.error(err instanceof ConfigError ? err.message : String(err instanceof Error ? err.message : err));
  await shutdown(1);
});
