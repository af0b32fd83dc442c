/** Stops the Pub/Sub emulator global-setup started (its whole process group: the script and java). */
export default async function globalTeardown(): Promise<void> {
  const pid = (globalThis as { __emulatorPid?: number }).__emulatorPid;
  if (pid) {
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}
