/**
 * `npm start`: the whole local system in one command. Starts the Pub/Sub emulator (unless
 * PUBSUB_EMULATOR_HOST or BROKER=rabbitmq), provisions topics and subscriptions, then each service
 * as a child process with prefixed logs: the Kubernetes stand-in (unless KUBECONFIG), the API, the
 * Sentinel and the adapters. `--speed N` compresses time for demos. A service that crashes is started
 * again (supervisor.ts). Ctrl-C / SIGTERM stops everything, at any moment of startup.
 */
import { buildTopology, createBroker } from "../shared/broker/index.js";
import { ConfigError } from "../shared/config.js";
import { loadConfig } from "./config.js";
import { startEmulator, type Emulator } from "./emulator.js";
import { stackSpecs, type StackAuth } from "./specs.js";
import net from "node:net";
import type { ProcessSpec } from "./processes.js";
import { buildServices } from "./build.js";
import { watchParent } from "../shared/parent-watch.js";
import { createSupervisor, type Supervisor } from "./supervisor.js";
import { decideInterrupt } from "./core/decide-interrupt.js";
import { resolve } from "node:path";
import { groupRunning } from "./process-table.js";
import { openLocalAuth, openLocalTls, RENEW_MS } from "./local-auth.js";
import { credentialsPath, saveCredentials } from "../hf/credentials.js";

const say = (line: string) => process.stdout.write(`${"stack".padEnd(12)}| ${line}\n`);

let emulator: Emulator | undefined;
let supervisor: Supervisor | undefined;
let stopped: Promise<void> | undefined;
let exitCode = 0;
let interrupts = 0;

/**
 * Stops everything once. Every later call (a second signal, a start that fails because its service was
 * stopped) waits for that same stop, so nothing exits while the emulator or a service still runs.
 */
function shutdown(code: number): Promise<never> {
  if (!stopped) {
    exitCode = code;
    stopped = (async () => {
      // Services first: they close their broker connections while the emulator still answers.
      await supervisor?.stop();
      await emulator?.stop();
    })();
  }
  return stopped.then(() => process.exit(exitCode));
}

const stillRunning = () => {
  const pubsub = emulator?.pgid !== undefined && groupRunning(emulator.pgid) ? ["pubsub"] : [];
  return [...(supervisor?.running() ?? []), ...pubsub].join(", ") || "nothing";
};

function onSignal(signal: string): void {
  const action = decideInterrupt(++interrupts);
  if (action === "stop") {
    say(`${signal}: stopping every service (a third Ctrl-C kills them at once)`);
    void shutdown(0);
  } else if (action === "remind") {
    say(`still stopping: waiting for ${stillRunning()} (Ctrl-C once more kills them at once)`);
  } else {
    say(`killing ${stillRunning()} now`);
    supervisor?.kill();
    emulator?.kill();
    process.exit(130);
  }
}

async function main(): Promise<void> {
  const speedArg = process.argv.indexOf("--speed");
  const env = { ...process.env, ...(speedArg > 0 ? { HYPERFLEET_SPEED: process.argv[speedArg + 1] } : {}), ...(process.argv.includes("--tls") ? { HYPERFLEET_TLS: "true" } : {}) };
  const config = loadConfig(env);
  // No GCE metadata probing (and its warnings) on a developer machine.
  process.env.METADATA_SERVER_DETECTION ??= "none";
  // Started at once, side by side: the compile (~1 s), the emulator (Java, 2-3 s) and, once compiled,
  // the stand-in and the API, which need no broker. The adapters follow together once the broker has
  // their subscriptions, then the Sentinels. One after another, this took 20-26 s on two cores.
  const built = buildServices(config.buildDir);
  const brokerReady = (async () => {
    let broker = config.broker;
    if (broker.kind === "pubsub" && !broker.emulatorHost) {
      console.log(`starting the Pub/Sub emulator on 127.0.0.1:${config.emulatorPort} ...`);
      const onSpawn = (e: Emulator) => {
        // Known from its spawn on, so a Ctrl-C while it starts stops it too.
        emulator = e;
        say(`Pub/Sub emulator started (process group ${e.pgid})`);
        if (stopped) void e.stop();
      };
      const started = await startEmulator(config.emulatorBin, config.emulatorPort, (line) => process.stdout.write(`pubsub      | ${line}\n`), onSpawn);
      broker = { ...broker, emulatorHost: started.host };
    }
    if (stopped) return broker;
    const admin = createBroker(broker);
    await admin.provision(buildTopology(config.namespace, { clusters: config.adapters, nodepools: config.nodepoolAdapters }));
    await admin.close();
    return broker;
  })();
  // Nobody waits on these until the services that need them start; a failure is reported then.
  built.catch(() => undefined);
  brokerReady.catch(() => undefined);

  // Secure with zero setup: a local issuer, a token per service, and the user's credentials where hf looks.
  const tls = config.tls ? await openLocalTls(config.authDir) : undefined;
  let auth: StackAuth | undefined;
  let credentialsLine = "  Authentication OFF (AUTH=none): anyone on this machine is an operator";
  if (config.auth === "jwt") {
    const local = await openLocalAuth(config.authDir, [...config.adapters, ...config.nodepoolAdapters], config.user, { rotation: process.argv.includes("--rotate-keys") ? "now" : "auto" });
    if (process.argv.includes("--rotate-keys")) say("--rotate-keys: new signing key; tokens signed by the old one are refused from now on");
    const renewal = setInterval(() => void local.renew().catch((err: unknown) => say(`could not renew the local tokens: ${String(err)}`)), RENEW_MS);
    renewal.unref();
    auth = { configFile: local.configFile, tokenFile: local.tokenFile, tls };
    const apiUrl = `${tls ? "https" : "http"}://127.0.0.1:${config.apiPort}`;
    const credentials = credentialsPath(env);
    let saved = `hf reads ${credentials}`;
    try {
      saveCredentials(credentials, apiUrl, { tokenFile: resolve(local.tokenFile("user")), ...(tls ? { caFile: tls.caFile } : {}) });
    } catch (err) {
      // A hand-edited credentials file is left alone: the stack runs, hf then needs --token-file.
      saved = `could not update ${credentials} (${(err as Error).message}); use hf --token-file ${local.tokenFile("user")}`;
    }
    credentialsLine = [
      `  Signed in as ${config.user} (operator): ${saved}`,
      `  Token for buf curl / grpcurl: -H "authorization: Bearer $(cat ${local.tokenFile("user")})"${tls ? `; TLS: --cacert ${tls.caFile}` : ""}`,
    ].join("\n");
  }
  const bundles = await built;
  if (stopped) return;
  supervisor = createSupervisor({
    start: { tty: process.stdout.isTTY === true, bundles, nodeArgs: config.nodeArgs, env },
    say,
    onGiveUp: () => void shutdown(1),
  });
  const startAll = (specs: ProcessSpec[]) => Promise.all(specs.map((spec) => (stopped ? undefined : supervisor!.start(spec))));
  // The stack's own Postgres keeps its port for the whole run (a restart comes back on it).
  const postgresPort = config.database === "postgres" && config.postgresPort === 0 ? await freeLoopbackPort() : config.postgresPort;
  // The stand-in, the Postgres and the API do not read the broker's address: their specs do not depend
  // on it. The API starts once its Postgres accepts connections.
  const early = stackSpecs(config, config.broker, auth, postgresPort);
  const earlyStarted = Promise.all([
    startAll(early.filter((s) => s.name === "kube")),
    startAll(early.filter((s) => s.name === "postgres")).then(() => startAll(early.filter((s) => s.name === "api"))),
  ]);
  earlyStarted.catch(() => undefined);
  const broker = await brokerReady;
  const specs = stackSpecs(config, broker, auth, postgresPort);
  await earlyStarted;
  if (stopped) return;
  // The adapters need Kubernetes (setup objects) and their subscriptions; the Sentinels start last, so
  // that their first events find every adapter consuming.
  await startAll(specs.filter((s) => s.entry === "services/adapter/main.ts"));
  if (stopped) return;
  await startAll(specs.filter((s) => s.entry === "services/sentinel/main.ts"));
  if (stopped) return;
  const brokerLine = broker.kind === "pubsub" ? `Pub/Sub emulator    ${broker.emulatorHost ?? "Google Cloud"}` : `RabbitMQ            ${broker.url.replace(/\/\/[^@]*@/, "//")}`;
  console.log(
    [
      "",
      `HyperFleet is running${config.speed > 1 ? ` (time x${config.speed})` : ""}:`,
      ...specs.flatMap((s) => s.endpoints.map((e) => `  ${e}`)),
      `  ${brokerLine}`,
      credentialsLine,
      `Process ids: ${supervisor.pids()}. A service that crashes is restarted.`,
      "Watch reconcile events: npm run events",
      ...(config.kubeconfig ? [] : [`See what the adapters did: kubectl get jobs,dnsrecords -A   (the stand-in on :${config.standinPort})`]),
      "Press Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
}

/** A port on 127.0.0.1 that nothing listens on now. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once("error", reject).listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

process.on("SIGINT", () => onSignal("SIGINT"));
process.on("SIGTERM", () => onSignal("SIGTERM"));
watchParent(() => {
  say("the process that started the stack is gone: stopping");
  void shutdown(0);
});
main().catch(async (err) => {
  // Once stopping, a failed start is only the stop seen from the starting side.
  if (!stopped) console.error(err instanceof ConfigError ? err.message : String(err instanceof Error ? err.message : err));
  await shutdown(1);
});
