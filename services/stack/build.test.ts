import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildServices } from "./build.js";

// Inside the project, where the bundles find node_modules, as npm start's own build directory is.
mkdirSync(".hyperfleet", { recursive: true });
const outDir = mkdtempSync(join(".hyperfleet", "build-test-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

test("npm start's adapter bundle carries the Kubernetes client it uses, not the client's whole generated API", async () => {
  const built = await buildServices(outDir);
  const adapter = readFileSync(built["services/adapter/main.ts"], "utf8");
  // Bundled: not loaded from node_modules, whose index loads every API class (30 MB of heap).
  expect(adapter).not.toMatch(/from\s*["']@kubernetes\/client-node["']/);
  expect(adapter).toMatch(/KubernetesObjectApi = class/);
  // Tree-shaken: an API group the adapter never calls is not in it.
  expect(adapter).not.toContain("class ObservableAdmissionregistrationApi");
  // Everything else stays in node_modules.
  expect(adapter).toMatch(/from\s*["']@google-cloud\/pubsub["']/);
}, 60_000);
