/**
 * Jest global setup: makes sure a Pub/Sub emulator is reachable for the suites that need one.
 * Uses PUBSUB_EMULATOR_HOST when set (.ci/run starts one); otherwise starts the emulator installed on
 * the machine on a free port, and global-teardown stops it.
 * Self-contained on purpose: jest loads global setup through require() without the moduleNameMapper
 * that maps our `.js` import specifiers to `.ts`, so it cannot import services/stack/emulator.ts.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";

export const EMULATOR_BIN = "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator";

async function answers(hostPort: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${hostPort}/`, { signal: AbortSignal.timeout(1000) });
    return (await res.text()).trim() === "Ok";
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export default async function globalSetup(): Promise<void> {
  const configured = process.env.PUBSUB_EMULATOR_HOST;
  if (configured && (await answers(configured))) return;
  if (!configured && (await answers("127.0.0.1:8085"))) {
    process.env.PUBSUB_EMULATOR_HOST = "127.0.0.1:8085";
    return;
  }
  if (!existsSync(EMULATOR_BIN)) {
    console.warn(`\nno Pub/Sub emulator at ${configured ?? "127.0.0.1:8085"} and none installed at ${EMULATOR_BIN}: Pub/Sub suites will fail`);
    return;
  }
  const port = await freePort();
  // Through a watchdog that stops it when this jest process is gone: a jest run that crashes (or is
  // killed) never reaches global-teardown, and the emulator would outlive it.
  const watchdog = `"${EMULATOR_BIN}" --host=127.0.0.1 --port=${port} & while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -TERM -$$ 2>/dev/null`;
  const child = spawn("sh", ["-c", watchdog], { detached: true, stdio: "ignore" });
  (globalThis as { __emulatorPid?: number }).__emulatorPid = child.pid;
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 120 && !(await answers(host)); i++) await new Promise((r) => setTimeout(r, 250));
  process.env.PUBSUB_EMULATOR_HOST = host;
}
