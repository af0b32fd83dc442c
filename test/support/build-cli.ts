import { build } from "esbuild";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The hf CLI compiled to one file, as the tests run it; `remove()` deletes it. */
export interface BuiltCli {
  /** Run with `node <path> args...`. */
  path: string;
  remove(): void;
}

/**
 * Bundles services/hf/main.ts (what bin.js runs through tsx) with its dependencies into a temporary
 * directory: each run then starts in ~0.3 s on plain node instead of ~1 s compiling TypeScript.
 */
export async function buildCli(): Promise<BuiltCli> {
  const dir = mkdtempSync(join(tmpdir(), "hf-cli-"));
  const path = join(dir, "hf.mjs");
  await build({
    entryPoints: ["services/hf/main.ts"],
    outfile: path,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    logLevel: "error",
    // Bundled CommonJS dependencies (yaml) call require(), which an ES module lacks.
    banner: { js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);' },
  });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
