/**
 * Jest global setup. Under `npm test`, run-jest.mjs has already got the run what it needs
 * (HYPERFLEET_TEST_SERVICES=ready) and this does nothing. When jest runs on its own, it does the same
 * here (test-services.ts: Postgres, the Pub/Sub emulator, the probes of requirements.ts), prints what is
 * missing, and global-teardown stops what it started.
 * Through tsx: jest loads global setup without the moduleNameMapper that maps our `.js` import
 * specifiers to `.ts`, so it cannot import test-services.ts directly.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.HYPERFLEET_TEST_SERVICES === "ready") return;
  const { tsImport } = await import("tsx/esm/api");
  const { prepareTestServices } = (await tsImport("./test-services.ts", import.meta.url)) as typeof import("./test-services.js");
  const services = await prepareTestServices();
  // Read by the test workers, which jest starts after this.
  Object.assign(process.env, services.env);
  (globalThis as { __testServicesStop?: () => Promise<void> }).__testServicesStop = services.stop;
  console.log(`\n${services.lines.join("\n")}`);
}
