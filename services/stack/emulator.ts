import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";

/** A Pub/Sub emulator this process started (script and java in one process group). */
export interface Emulator {
  host: string;
  stop(): Promise<void>;
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
 * Starts the emulator script itself (not the gcloud wrapper, whose death orphans java) in its own
 * process group, so stop() takes java down with it. Resolves once it answers "Ok".
 */
export async function startEmulator(bin: string, port: number, onLine: (line: string) => void): Promise<Emulator> {
  const host = `127.0.0.1:${port}`;
  if (await emulatorAnswers(host)) return { host, stop: async () => undefined };
  if (!existsSync(bin)) {
    throw new Error(
      `the Pub/Sub emulator is not installed at ${bin}.\n` +
        "Install it (gcloud components install pubsub-emulator), point PUBSUB_EMULATOR_HOST at a running one,\n" +
        "or use RabbitMQ instead: BROKER=rabbitmq RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672 npm start",
    );
  }
  const child: ChildProcess = spawn(bin, ["--host=127.0.0.1", `--port=${port}`], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  for (const s of [child.stdout!, child.stderr!]) s.on("data", (b: Buffer) => b.toString().split("\n").filter(Boolean).forEach(onLine));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => { try { process.kill(-child.pid!, "SIGKILL"); } catch { /* gone */ } }, 5000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 60_000;
  while (!(await emulatorAnswers(host))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the Pub/Sub emulator did not start on ${host}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { host, stop };
}
