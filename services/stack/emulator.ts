import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { groupRunning, waitUntil } from "./process-table.js";

/** A Pub/Sub emulator this process started (script and java in one process group). */
export interface Emulator {
  host: string;
  /** Its process group; undefined for one that was already running (and that stop() leaves alone). */
  pgid?: number;
  /** SIGTERM to the group, SIGKILL after 5 s; resolves once no process of the group runs. */
  stop(): Promise<void>;
  /** SIGKILL to the group, now. */
  kill(): void;
}

/** Where the Google Cloud SDK installs the emulator's own launcher. */
export const DEFAULT_EMULATOR_BIN = "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator";

/** True when an emulator answers "Ok" at `host` (host:port). */
export async function emulatorAnswers(host: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
    return (await res.text()).trim() === "Ok";
  } catch {
    return false;
  }
}

/**
 * The emulator's launcher (which execs java) in the background, and a watchdog beside it in the same
 * group: when the process that started it is gone, even SIGKILLed, the watchdog takes the group down.
 * The shell itself waits for java, so its exit is the emulator's.
 */
const watchdog = (ownerPid: number) =>
  `"$0" "$@" & e=$!; (while kill -0 ${ownerPid} 2>/dev/null && kill -0 $e 2>/dev/null; do sleep 1; done; kill -TERM 0) & wait $e`;

/**
 * Starts the emulator script itself (not the gcloud wrapper, whose death orphans java) in its own
 * process group, so stop() takes java down with it. `onSpawn` gets the emulator as soon as it is
 * spawned, so a caller interrupted while it starts can stop it. Resolves once it answers "Ok".
 */
export async function startEmulator(bin: string, port: number, onLine: (line: string) => void, onSpawn?: (emulator: Emulator) => void): Promise<Emulator> {
  const host = `127.0.0.1:${port}`;
  if (await emulatorAnswers(host)) return { host, stop: async () => undefined, kill: () => undefined };
  if (!existsSync(bin)) {
    throw new Error(
      `the Pub/Sub emulator is not installed at ${bin}.\n` +
        "Install it (gcloud components install pubsub-emulator), point PUBSUB_EMULATOR_HOST at a running one,\n" +
        "or use RabbitMQ instead: BROKER=rabbitmq RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672 npm start",
    );
  }
  const child: ChildProcess = spawn("sh", ["-c", watchdog(process.pid), bin, "--host=127.0.0.1", `--port=${port}`], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  for (const s of [child.stdout!, child.stderr!]) s.on("data", (b: Buffer) => b.toString().split("\n").filter(Boolean).forEach(onLine));
  const pgid = child.pid!;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pgid, sig);
    } catch {
      // the group is gone
    }
  };
  const emulator: Emulator = {
    host,
    pgid,
    async stop() {
      signal("SIGTERM");
      if (await waitUntil(() => !groupRunning(pgid), 5000)) return;
      signal("SIGKILL");
      await waitUntil(() => !groupRunning(pgid), 2000);
    },
    kill: () => signal("SIGKILL"),
  };
  onSpawn?.(emulator);
  const deadline = Date.now() + 60_000;
  while (!(await emulatorAnswers(host))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await emulator.stop();
      throw new Error(`the Pub/Sub emulator did not start on ${host}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return emulator;
}
