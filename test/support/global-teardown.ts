/** Stops what global-setup started (when jest ran on its own; under `npm test` run-jest.mjs does). */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __testServicesStop?: () => Promise<void> }).__testServicesStop?.();
}
