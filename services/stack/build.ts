import { build, stop, type Plugin } from "esbuild";
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LIFELINE_ENTRY } from "./processes.js";
import { POSTGRES_ENTRY } from "./specs.js";

/** The services `npm start` runs, by entry module. */
export const SERVICE_ENTRIES = ["services/api/main.ts", "services/sentinel/main.ts", "services/adapter/main.ts", "services/kube-standin/main.ts", POSTGRES_ENTRY];


/**
 * Compiles each service, and the lifeline, to one ES module under `outDir` (dependencies stay in
 * node_modules), so the processes run on plain node: running TypeScript through tsx costs ~50 MB of
 * memory per process. Takes about a second; returns the entry → bundle map.
 */
export async function buildServices(outDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  await Promise.all(
    [...SERVICE_ENTRIES, LIFELINE_ENTRY].map(async (entry) => {
      const file = join(outDir, `${entry === LIFELINE_ENTRY ? "lifeline" : entry === POSTGRES_ENTRY ? "postgres" : entry.split("/")[1]}.mjs`);
      await build({
        entryPoints: [entry],
        outfile: file,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node24",
        plugins: [externalExcept(BUNDLED_PACKAGES)],
        // The CommonJS packages bundled into an ES module call require() for Node's own modules.
        banner: { js: `import { createRequire as __hfCreateRequire } from "node:module"; const require = __hfCreateRequire(import.meta.url);` },
        sourcemap: "external",
        logLevel: "error",
      });
      out[entry] = file;
    }),
  );
  // esbuild's service process keeps what it bundled (326 MB of RSS for as long as npm start ran, once
  // @kubernetes/client-node was bundled); the stack builds once. Another esbuild call would start it again.
  await stop();
  return out;
}

/**
 * Packages compiled into npm start's bundles, with what they import; every other package stays in
 * node_modules. @kubernetes/client-node's index loads its whole generated API (757 models, 65 API
 * classes): 30 MB of heap and 129 MB of RSS for a process that only imports it, against 12 and 86 MB
 * bundled, where esbuild keeps what the adapter uses (as the image's build always did).
 */
export const BUNDLED_PACKAGES = ["@kubernetes/client-node"];

/** Bare imports from our own code stay external unless their package is in `bundled`; those packages' own imports are bundled. */
function externalExcept(bundled: readonly string[]): Plugin {
  return {
    name: "external-except",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith("node:") || builtinModules.includes(args.path)) return { path: args.path, external: true };
        if ([...OPTIONAL, ...NEVER_LOADED].some((p) => packageName(args.path) === packageName(p))) return { path: args.path, external: true };
        if (args.importer.includes("/node_modules/")) return undefined;
        return bundled.includes(packageName(args.path)) ? undefined : { path: args.path, external: true };
      });
    },
  };
}

/**
 * The programs of the production image (Dockerfile), by bundle name: `node /app/<name>.mjs`. Every
 * command of docker-compose.yml is one of them (test/e2e/compose-config.test.ts checks it).
 */
export const IMAGE_ENTRIES = {
  api: "services/api/main.ts",
  migrate: "services/api/migrate.ts",
  sentinel: "services/sentinel/main.ts",
  adapter: "services/adapter/main.ts",
  "kube-standin": "services/kube-standin/main.ts",
  credentials: "services/stack/credentials-main.ts",
  provision: "services/stack/provision.ts",
} as const;

/**
 * Packages the image keeps in node_modules instead of bundling, with what they depend on: google-gax
 * (under @google-cloud/pubsub) reads .proto files from beside its own modules at load time.
 */
export const IMAGE_EXTERNAL_PACKAGES = ["@google-cloud/pubsub"];

/**
 * Left unresolved on purpose: knex's drivers for other databases and pg's native binding (only pg is
 * used, none of them is installed). Nothing loads them.
 */
const NEVER_LOADED = ["better-sqlite3", "sqlite3", "mysql", "mysql2", "mariadb", "mariadb/*", "tedious", "oracledb", "pg-query-stream", "pg-native"];
/**
 * Optional packages that the bundled code tries to load and does without (ws's accelerators, debug's
 * colours): never bundled, so that the image's bundles are the same whether or not the build's
 * node_modules has them (a development install does, through devDependencies; the image's does not).
 */
const OPTIONAL = ["bufferutil", "utf-8-validate", "supports-color"];

/** What must never reach the image: the TypeScript runner, the compiler, and the embedded database. */
export const IMAGE_FORBIDDEN_PACKAGES = ["tsx", "esbuild", "@esbuild", "@electric-sql"];

/**
 * The embedded database (PGlite) is for `npm start` without DATABASE_URL. The image replaces it with a
 * module that says so: a container always has DATABASE_URL (docker-compose.yml sets it).
 */
const EMBEDDED_POSTGRES = "services/api/store/embedded-postgres.ts";
const noEmbeddedPostgres: Plugin = {
  name: "no-embedded-postgres",
  setup(b) {
    b.onResolve({ filter: /(^|\/)embedded-postgres\.js$/ }, (args) =>
      resolve(args.resolveDir, args.path.replace(/\.js$/, ".ts")) === resolve(EMBEDDED_POSTGRES) ? { path: EMBEDDED_POSTGRES, namespace: "image-stub" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "image-stub" }, () => ({
      loader: "js",
      contents: `export async function startEmbeddedPostgres() {
  throw new Error("DATABASE_URL is not set, and this image has no embedded database (PGlite is for npm start): set DATABASE_URL to a Postgres");
}`,
    }));
  },
};

const packageName = (path: string) => (path.startsWith("@") ? path.split("/").slice(0, 2).join("/") : path.split("/")[0]);

/**
 * The production image's application (Dockerfile): each program of IMAGE_ENTRIES compiled, with its
 * dependencies, to ES modules in `outDir` (shared code in chunks), the adapters' configs beside them
 * (the adapter finds configs/ next to its module), and in `outDir/node_modules` only the packages of
 * IMAGE_EXTERNAL_PACKAGES and those they depend on. No tsx, esbuild or PGlite: the build fails if any
 * of them would be in it. Runs on plain node: `node outDir/api.mjs`.
 */
export async function buildImage(outDir: string): Promise<{ programs: Record<string, string>; packages: string[] }> {
  rmSync(outDir, { recursive: true, force: true });
  const result = await build({
    entryPoints: IMAGE_ENTRIES,
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node24",
    external: [...IMAGE_EXTERNAL_PACKAGES, ...IMAGE_EXTERNAL_PACKAGES.map((p) => `${p}/*`), ...NEVER_LOADED, ...OPTIONAL],
    plugins: [noEmbeddedPostgres],
    // The CommonJS packages bundled into an ES module call require() for Node's own modules.
    banner: { js: `import { createRequire as __hfCreateRequire } from "node:module"; const require = __hfCreateRequire(import.meta.url);` },
    metafile: true,
    logLevel: "error",
  });
  const bundled = new Set(Object.keys(result.metafile.inputs).flatMap((f) => [...f.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map((m) => m[1])));
  const imported = new Set(Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => packageName(i.path))));
  const forbidden = (name: string) => IMAGE_FORBIDDEN_PACKAGES.some((f) => name === f || name.startsWith(`${f}/`));
  const leaked = [...bundled, ...imported].filter(forbidden);
  if (leaked.length > 0) throw new Error(`the image would contain ${[...new Set(leaked)].join(", ")}: its programs must not need them`);
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const unknown = [...imported].filter((p) => !builtins.has(p) && !IMAGE_EXTERNAL_PACKAGES.includes(p) && !NEVER_LOADED.some((n) => packageName(n) === p) && !OPTIONAL.includes(p));
  if (unknown.length > 0) throw new Error(`the image's programs import ${unknown.join(", ")}, which is neither bundled nor shipped (IMAGE_EXTERNAL_PACKAGES)`);

  cpSync("services/adapter/configs", join(outDir, "configs"), { recursive: true });
  const packages = copyPackages(IMAGE_EXTERNAL_PACKAGES, outDir);
  if (packages.some((p) => forbidden(packageName(p.replace(/^.*node_modules\//, ""))))) throw new Error(`the image's node_modules would contain one of ${IMAGE_FORBIDDEN_PACKAGES.join(", ")}`);
  writeFileSync(join(outDir, "bundled-packages.txt"), `${[...bundled].sort().join("\n")}\n`);
  const programs = Object.fromEntries(Object.keys(IMAGE_ENTRIES).map((name) => [name, join(outDir, `${name}.mjs`)]));
  writeFileSync(join(outDir, "programs.json"), `${JSON.stringify(Object.fromEntries(Object.entries(IMAGE_ENTRIES).map(([name, entry]) => [`${name}.mjs`, entry])), null, 2)}\n`);
  return { programs, packages };
}

/**
 * Copies `roots` from ./node_modules to `outDir/node_modules` with every package they depend on
 * (dependencies, and the optional and peer ones that are installed), each found as Node finds it (in
 * the depending package's own node_modules, then its parents'), at the same relative path, so that
 * the copy resolves exactly as the installed tree does. Returns the copied directories.
 */
function copyPackages(roots: string[], outDir: string): string[] {
  const copied = new Set<string>();
  const parentOf = (pkgDir: string) => pkgDir.replace(/\/?node_modules\/(?:@[^/]+\/)?[^/]+$/, "");
  const find = (name: string, from: string): string | undefined => {
    for (let dir = from; ; dir = parentOf(dir)) {
      const candidate = dir === "" ? join("node_modules", name) : join(dir, "node_modules", name);
      if (existsSync(join(candidate, "package.json"))) return candidate;
      if (dir === "") return undefined;
    }
  };
  const visit = (pkgDir: string) => {
    if (copied.has(pkgDir)) return;
    copied.add(pkgDir);
    const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
    // Type declarations (@types/node, a dependency of protobufjs) are never loaded at run time.
    const runtime = (names: string[]) => names.filter((n) => !n.startsWith("@types/"));
    const required = runtime(Object.keys(manifest.dependencies ?? {}));
    const ifInstalled = runtime([...Object.keys(manifest.optionalDependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
    for (const name of required) {
      const dir = find(name, pkgDir);
      if (!dir) throw new Error(`${pkgDir} depends on ${name}, which is not installed: run npm ci`);
      visit(dir);
    }
    for (const name of ifInstalled) {
      const dir = find(name, pkgDir);
      if (dir) visit(dir);
    }
  };
  for (const root of roots) {
    const dir = find(root, "");
    if (!dir) throw new Error(`${root} is not installed: run npm ci`);
    visit(dir);
  }
  for (const dir of copied) {
    const own = join(dir, "node_modules");
    cpSync(dir, join(outDir, dir), { recursive: true, dereference: true, filter: (src) => src !== own });
  }
  return [...copied].sort();
}

// `node --import tsx services/stack/build.ts --image DIR`: the Dockerfile's build stage.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--image");
  const outDir = at > 0 ? process.argv[at + 1] : undefined;
  if (!outDir) {
    console.error("usage: node --import tsx services/stack/build.ts --image DIR");
    process.exit(2);
  }
  buildImage(outDir).then(
    ({ programs, packages }) => console.log(`${Object.keys(programs).length} programs in ${outDir} (${Object.keys(programs).join(", ")}); node_modules: ${packages.length} packages for ${IMAGE_EXTERNAL_PACKAGES.join(", ")}`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
