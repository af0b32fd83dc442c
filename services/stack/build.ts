import { build } from "esbuild";
import { join } from "node:path";
import { LIFELINE_ENTRY } from "./processes.js";

/** The services `npm start` runs, by entry module. */
export const SERVICE_ENTRIES = ["services/api/main.ts", "services/sentinel/main.ts", "services/adapter/main.ts", "services/kube-standin/main.ts"];


/**
 * Compiles each service, and the lifeline, to one ES module under `outDir` (dependencies stay in
 * node_modules), so the processes run on plain node: running TypeScript through tsx costs ~50 MB of
 * memory per process. Takes about a second; returns the entry → bundle map.
 */
export async function buildServices(outDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  await Promise.all(
    [...SERVICE_ENTRIES, LIFELINE_ENTRY].map(async (entry) => {
      const file = join(outDir, `${entry === LIFELINE_ENTRY ? "lifeline" : entry.split("/")[1]}.mjs`);
      await build({
        entryPoints: [entry],
        outfile: file,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        packages: "external",
        sourcemap: "external",
        logLevel: "error",
      });
      out[entry] = file;
    }),
  );
  return out;
}
