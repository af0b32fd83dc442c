/**
 * docker-compose.yml is valid, wires every service, and is closed by default (issue 18): only the API
 * is published, on loopback; Postgres wants a password that comes from the environment; every RPC
 * service checks tokens from the `credentials` service, and the Sentinel and adapters present their own.
 * Each service runs a program of the image, compiled JavaScript on a supported Node, as a non-root user
 * (issue 19), and docker-compose.e2e.yml compresses time as the self-started end-to-end suite does.
 * No Docker engine here: the files are checked as parsed (always) and as docker-compose resolves them
 * (when docker-compose is installed, as in CI).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { loadConfig as apiConfig } from "../../services/api/config.js";
import { loadConfig as standinConfig } from "../../services/kube-standin/config.js";
import { duration } from "../../services/shared/config.js";
import { IMAGE_ENTRIES } from "../../services/stack/build.js";
import { requires } from "../support/requirements.js";

const run = promisify(execFile);
// CI installs the Debian docker-compose package (.ci/run); a machine without it skips these, and npm test says how to get it.
const maybe = requires("docker-compose");

type Env = Record<string, string>;
interface Service {
  build?: unknown;
  image?: string;
  command?: string[];
  environment?: Env | string[];
  ports?: (string | { host_ip?: string; published?: string | number; target?: number })[];
  volumes?: (string | { type?: string; source?: string; target?: string; read_only?: boolean })[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string | string[] };
  network_mode?: string;
}
interface Compose {
  services: Record<string, Service>;
}

const RAW = parse(readFileSync("docker-compose.yml", "utf8"), { merge: true }) as Compose;
const E2E = parse(readFileSync("docker-compose.e2e.yml", "utf8"), { merge: true }) as Compose;
const PASSWORD = "from-the-env-4f2a";

/** Compose's interpolation, the forms this file uses: $$, ${VAR}, ${VAR:-default}, ${VAR:?error}. */
function interpolate<T>(value: T, env: Env): T {
  if (typeof value === "string") {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-?])([^}]*))?\}/g, (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
      if (name === undefined) return "$";
      const v = env[name];
      if (v !== undefined && v !== "") return v;
      if (op === ":?") throw new Error(`${name} ${arg}`);
      return op === ":-" ? arg! : "";
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env)) as T;
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)])) as T;
  return value;
}

function envOf(s: Service): Env {
  if (Array.isArray(s.environment)) return Object.fromEntries(s.environment.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  return Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

/** Every port as {host_ip, published, target}, from the short ("127.0.0.1:8000:8000/tcp") or long form. */
function portsOf(s: Service): { hostIp: string; published: string; target: string }[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === "object") return { hostIp: p.host_ip ?? "", published: String(p.published ?? ""), target: String(p.target) };
    const parts = String(p).replace(/\/(tcp|udp)$/, "").split(":");
    const target = parts.pop()!;
    const published = parts.pop() ?? "";
    return { hostIp: parts.join(":"), published, target };
  });
}

function mountsOf(s: Service): { source: string; target: string; readOnly: boolean }[] {
  return (s.volumes ?? []).map((v) => {
    if (typeof v === "object") return { source: v.source ?? "", target: v.target ?? "", readOnly: v.read_only === true };
    const [source, target, mode] = v.split(":");
    return { source, target, readOnly: (mode ?? "").split(",").includes("ro") };
  });
}

function dependsOn(s: Service): Record<string, string> {
  if (Array.isArray(s.depends_on)) return Object.fromEntries(s.depends_on.map((d) => [d, "service_started"]));
  return Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([k, v]) => [k, v.condition ?? "service_started"]));
}

/** The image's programs (services/stack/build.ts): a service runs /app/<program>.mjs. */
const program = (name: keyof typeof IMAGE_ENTRIES) => `/app/${name}.mjs`;
const runs = (s: Service, path: string) => (s.command ?? [])[0] === path;
const rpcKinds = { api: program("api"), sentinel: program("sentinel"), adapter: program("adapter") };
const rpcServices = (c: Compose) => Object.entries(c.services).filter(([, s]) => Object.values(rpcKinds).some((e) => runs(s, e)));

/**
 * The checks, on the file as parsed and again on docker-compose's resolution of it. `published`: the
 * ports expected on the host, all on loopback (the API alone, unless an override adds some).
 */
function checkClosed(c: Compose, published: Record<string, string[]> = { api: ["8000:8000"] }): void {
  // Only the API is reachable from outside the compose network, and only from this machine.
  const open = Object.entries(c.services).filter(([, s]) => portsOf(s).length > 0);
  expect(open.map(([name]) => name).sort()).toEqual(Object.keys(published).sort());
  for (const [name, ports] of Object.entries(published)) {
    expect([name, portsOf(c.services[name])]).toEqual([name, ports.map((p) => ({ hostIp: "127.0.0.1", published: p.split(":")[0], target: p.split(":")[1] }))]);
  }
  for (const [name, s] of Object.entries(c.services)) expect([name, s.network_mode ?? "bridge"]).not.toEqual([name, "host"]);

  // Postgres wants a password, which comes from the environment (checked against the raw file below).
  const pg = envOf(c.services.postgres);
  expect(pg.POSTGRES_PASSWORD).toBe(PASSWORD);
  for (const [name, s] of Object.entries(c.services)) {
    expect([name, envOf(s).POSTGRES_HOST_AUTH_METHOD ?? "default"]).not.toEqual([name, "trust"]);
    expect([name, JSON.stringify(s.command ?? [])]).not.toEqual([name, expect.stringMatching(/trust/)]);
  }
  for (const name of ["api", "migrate"]) expect(new URL(envOf(c.services[name]).DATABASE_URL).password).toBe(PASSWORD);

  // The credentials service: its own command, a healthcheck, and the only one to mount the issuer's volume.
  const credentials = c.services.credentials;
  expect(credentials).toBeDefined();
  expect(runs(credentials, program("credentials"))).toBe(true);
  const health = [credentials.healthcheck?.test ?? []].flat().join(" ");
  expect(health).toMatch(/^CMD(-SHELL)? /);
  const cenv = envOf(credentials);
  const dir = cenv.CREDENTIALS_DIR;
  const sharedVolume = mountsOf(credentials).find((m) => m.target === dir)!;
  const issuerVolume = mountsOf(credentials).find((m) => m.target === cenv.CREDENTIALS_ISSUER_DIR)!;
  expect(sharedVolume).toMatchObject({ readOnly: false });
  expect(issuerVolume).toMatchObject({ readOnly: false });
  for (const [name, s] of Object.entries(c.services)) {
    if (name !== "credentials") expect([name, mountsOf(s).map((m) => m.source)]).not.toEqual([name, expect.arrayContaining([issuerVolume.source])]);
  }
  const issued = new Set(["sentinel", ...cenv.STACK_ADAPTERS.split(",").map((a) => `adapter-${a.trim()}`)]);

  // Every RPC service checks tokens against the shared configuration, mounted read-only where
  // credentials-main writes it, and starts once the credentials exist.
  const rpc = rpcServices(c);
  expect(rpc.map(([name]) => name).sort()).toEqual(["api", "dns", "placement", "sentinel", "validation"]);
  for (const [name, s] of rpc) {
    const env = envOf(s);
    expect([name, env.AUTH ?? "jwt"]).toEqual([name, "jwt"]);
    expect([name, env.AUTH_CONFIG]).toEqual([name, `${dir}/auth.json`]);
    expect([name, mountsOf(s).filter((m) => m.source === sharedVolume.source)]).toEqual([name, [{ source: sharedVolume.source, target: dir, readOnly: true }]]);
    expect([name, dependsOn(s).credentials]).toEqual([name, "service_healthy"]);
    if (runs(s, rpcKinds.api)) {
      expect([name, env.API_TOKEN_FILE]).toEqual([name, undefined]);
      continue;
    }
    // The Sentinel and each adapter present a token of their own, one credentials-main issues, which
    // the healthcheck waits for.
    const own = runs(s, rpcKinds.sentinel) ? "sentinel" : `adapter-${env.ADAPTER}`;
    expect([name, env.API_TOKEN_FILE]).toEqual([name, `${dir}/tokens/${own}.token`]);
    expect([name, issued.has(own)]).toEqual([name, true]);
    expect([name, health]).toEqual([name, expect.stringContaining(basename(env.API_TOKEN_FILE))]);
    expect(dirname(env.API_TOKEN_FILE)).toBe(`${dir}/tokens`);
  }
}

describe("the compose file as written", () => {
  test("is closed by default: one port on loopback, a password from the environment, tokens everywhere", () => {
    checkClosed(interpolate(RAW, { POSTGRES_PASSWORD: PASSWORD }));
  });

  test("no password is written in it: POSTGRES_PASSWORD is required from the environment (.env)", () => {
    const raw = envOf(RAW.services.postgres).POSTGRES_PASSWORD;
    expect(raw).toMatch(/^\$\{POSTGRES_PASSWORD:\?[^}]+\}$/);
    for (const name of ["api", "migrate"]) expect(envOf(RAW.services[name]).DATABASE_URL).toContain("${POSTGRES_PASSWORD:?");
    expect(() => interpolate(RAW, {})).toThrow(/POSTGRES_PASSWORD .*compose\.env\.example/);
  });

  test("compose.env.example holds no password, and says how to make one", () => {
    const example = readFileSync("compose.env.example", "utf8");
    expect(example).toMatch(/^POSTGRES_PASSWORD=$/m);
    expect(example).toMatch(/\/dev\/urandom/);
    expect(readFileSync(".dockerignore", "utf8").split("\n")).toContain(".env");
  });

  test("the migrations run once, before the API, which only checks the schema", () => {
    const api = RAW.services.api;
    expect(dependsOn(api).migrate).toBe("service_completed_successfully");
    expect(envOf(api).MIGRATE_ON_START).toBe("false");
    expect(runs(RAW.services.migrate, program("migrate"))).toBe(true);
    expect(String((RAW.services.migrate as { restart?: string }).restart)).toBe("no");
  });
});

describe("the image's programs", () => {
  const fromImage = Object.entries(RAW.services).filter(([, s]) => s.build !== undefined || s.image === "hyperfleet:local");
  const dockerfile = readFileSync("Dockerfile", "utf8");
  const stages = dockerfile.split(/^(?=FROM )/m).filter((st) => st.startsWith("FROM "));
  const runtime = stages[stages.length - 1];
  const instruction = (stage: string, name: string) => [...stage.matchAll(new RegExp(`^${name} (.+)$`, "gm"))].map((m) => m[1]);

  test("every service built from the image runs one of its compiled programs, on plain node", () => {
    expect(fromImage.map(([name]) => name).sort()).toEqual(["api", "credentials", "dns", "kube", "migrate", "placement", "provision", "sentinel", "validation"]);
    const programs = new Set(Object.keys(IMAGE_ENTRIES).map((n) => program(n as keyof typeof IMAGE_ENTRIES)));
    for (const [name, s] of fromImage) {
      expect([name, s.command?.length, programs.has(s.command?.[0] ?? "")]).toEqual([name, 1, true]);
    }
    expect(instruction(runtime, "ENTRYPOINT")).toEqual(['["node"]']);
    expect(instruction(runtime, "CMD")).toEqual([`["${program("api")}"]`]);
  });

  test("Dockerfile: a supported Node LTS, a build stage that compiles, a runtime stage with its output only, not root", () => {
    // Every stage on an even-numbered (LTS) Node of at least 24: Node 20 reached end of life in April 2026.
    for (const stage of stages) {
      const major = Number(/^FROM node:(\d+)[-.\w]*( AS \w+)?$/m.exec(stage)?.[1]);
      expect([stage.split("\n")[0], major >= 24 && major % 2 === 0]).toEqual([stage.split("\n")[0], true]);
    }
    expect(stages.length).toBe(2);
    expect(instruction(stages[0], "RUN")).toContain("node --import tsx services/stack/build.ts --image /app");
    // The runtime stage copies nothing but the build stage's output, and installs nothing.
    expect(instruction(runtime, "COPY")).toEqual(["--from=build /app /app"]);
    expect(instruction(runtime, "RUN").join("\n")).not.toMatch(/npm (ci|install)|tsx|esbuild/);
    const user = instruction(runtime, "USER");
    expect(user).toHaveLength(1);
    expect(user[0]).not.toMatch(/^(root|0)(:|$)/);
    // The credentials volumes' mount points are the services' user's (docker-compose.yml).
    expect(runtime).toMatch(/install -d -o node -g node -m 0755 \/credentials/);
    expect(runtime).toMatch(/install -d -o node -g node -m 0700 \/issuer/);
  });

  test("each service's environment passes its program's configuration checks, where they read no files", () => {
    const env = (name: string) => envOf(interpolate(RAW, { POSTGRES_PASSWORD: PASSWORD }).services[name]);
    // migrate reads the API's configuration: it needs an auth setting even though it serves nothing.
    expect(() => apiConfig(env("migrate"))).not.toThrow();
    expect(apiConfig(env("migrate")).databaseUrl).toContain("@postgres:5432/");
    expect(standinConfig(env("kube"))).toMatchObject({ host: "0.0.0.0", port: 8080 });
  });
});

/** The intervals the seed suite gives the stack it starts itself (its startStack call). */
function seedIntervals(): Record<string, string> {
  const source = readFileSync("test/e2e/seed-happy-path.test.ts", "utf8");
  const call = /startStack\(\{([\s\S]*?)\}\);/.exec(source)?.[1] ?? "";
  return Object.fromEntries([...call.matchAll(/([A-Z_]+): ([^,\n]+)/g)].map(([, k, v]) => [k, v.trim()]));
}
const ms = (name: string, v: string) => {
  const p = duration({ [name]: v }, name, 0);
  if (!("value" in p)) throw new Error(p.error);
  return p.value;
};

describe("docker-compose.e2e.yml, the end-to-end suite's override", () => {
  test("compresses time as the self-started seed suite does, and no more", () => {
    const seed = seedIntervals();
    expect(Object.keys(seed).sort()).toEqual(["MAX_AGE_NOT_READY", "MAX_AGE_READY", "POLL_INTERVAL", "STANDIN_DNS_DELAY", "STANDIN_JOB_DURATION"]);
    const sentinel = envOf(E2E.services.sentinel);
    const kube = envOf(E2E.services.kube);
    for (const k of ["POLL_INTERVAL", "MAX_AGE_NOT_READY"]) expect([k, ms(k, sentinel[k])]).toEqual([k, ms(k, JSON.parse(seed[k]))]);
    for (const k of ["STANDIN_JOB_DURATION", "STANDIN_DNS_DELAY"]) expect([k, ms(k, kube[k])]).toEqual([k, ms(k, JSON.parse(seed[k]))]);
    // The suite's MAX_AGE_READY is HF_E2E_MAX_AGE_READY_MS (default 8000) against a stack it did not start.
    expect(seed.MAX_AGE_READY).toBe("`${MAX_AGE_READY_MS}ms`");
    expect(readFileSync("test/e2e/seed-happy-path.test.ts", "utf8")).toContain("HF_E2E_MAX_AGE_READY_MS ?? 8000");
    expect(ms("MAX_AGE_READY", sentinel.MAX_AGE_READY)).toBe(8000);
    expect(readFileSync("test/e2e/compose-e2e.sh", "utf8")).toMatch(/^HF_E2E_MAX_AGE_READY_MS=8000 \\$/m);
    // Each cluster adapter calls an event a drift check below MAX_AGE_READY, as npm start sets it (half).
    for (const a of ["validation", "dns", "placement"]) {
      expect([a, ms("DRIFT_CHECK_AFTER", envOf(E2E.services[a]).DRIFT_CHECK_AFTER)]).toEqual([a, 8000 / 2]);
    }
    // It overrides environment and ports only: the services, their commands and their wiring are the compose file's.
    for (const [name, s] of Object.entries(E2E.services)) {
      expect([name, Object.keys(s).filter((k) => k !== "environment" && k !== "ports")]).toEqual([name, []]);
      expect([name, name in RAW.services]).toEqual([name, true]);
    }
  });

  test("publishes the stand-in and the emulator, for the suite, on loopback only", () => {
    const merged = interpolate(E2E, {});
    expect(portsOf(merged.services.kube)).toEqual([{ hostIp: "127.0.0.1", published: "8080", target: "8080" }]);
    expect(portsOf(merged.services.pubsub)).toEqual([{ hostIp: "127.0.0.1", published: "8085", target: "8085" }]);
    const moved = interpolate(E2E, { HF_E2E_KUBE_PORT: "18080", HF_E2E_PUBSUB_PORT: "18085" });
    expect(portsOf(moved.services.kube)[0].published).toBe("18080");
    expect(portsOf(moved.services.pubsub)[0].published).toBe("18085");
  });
});

describe("docker-compose's resolution of it", () => {
  let emptyEnvFile: string;
  let scratch: string;
  beforeAll(() => {
    // A developer's own .env must not decide these tests: an empty one instead.
    scratch = mkdtempSync(join(tmpdir(), "hf-compose-"));
    emptyEnvFile = join(scratch, "empty.env");
    writeFileSync(emptyEnvFile, "");
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const compose = (args: string[], env: Env = { POSTGRES_PASSWORD: PASSWORD }) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "POSTGRES_PASSWORD" && k !== "HYPERFLEET_USER")) as Env;
    return run("docker-compose", ["--env-file", emptyEnvFile, ...args], { timeout: 30_000, env: { ...base, ...env } });
  };

  maybe("validates and lists the whole system", async () => {
    await compose(["config", "-q"]);
    const { stdout } = await compose(["config", "--services"]);
    expect(stdout.trim().split("\n").sort()).toEqual(["api", "credentials", "dns", "kube", "migrate", "placement", "postgres", "provision", "pubsub", "sentinel", "validation"]);
  });

  maybe("is closed by default, as resolved", async () => {
    const { stdout } = await compose(["config"]);
    const resolved = parse(stdout) as Compose;
    checkClosed(resolved);
    expect(dependsOn(resolved.services.api).migrate).toBe("service_completed_successfully");
    expect(String(envOf(resolved.services.api).MIGRATE_ON_START)).toBe("false");
  });

  maybe("with docker-compose.e2e.yml: valid, time compressed, the suite's two extra ports on loopback, everything else as closed", async () => {
    const files = ["-f", "docker-compose.yml", "-f", "docker-compose.e2e.yml"];
    await compose([...files, "config", "-q"]);
    const resolved = parse((await compose([...files, "config"])).stdout) as Compose;
    checkClosed(resolved, { api: ["8000:8000"], kube: ["8080:8080"], pubsub: ["8085:8085"] });
    // Merged into each service's own environment, not replacing it.
    expect(envOf(resolved.services.sentinel)).toMatchObject({ POLL_INTERVAL: "250ms", MAX_AGE_NOT_READY: "500ms", MAX_AGE_READY: "8s", RESOURCE_KIND: "clusters", API_TOKEN_FILE: "/credentials/tokens/sentinel.token" });
    expect(envOf(resolved.services.kube)).toMatchObject({ STANDIN_JOB_DURATION: "6s", STANDIN_DNS_DELAY: "1s", KUBE_STANDIN_HOST: "0.0.0.0" });
    for (const a of ["validation", "dns", "placement"]) expect(envOf(resolved.services[a])).toMatchObject({ ADAPTER: a, DRIFT_CHECK_AFTER: "4s", AUTH: "jwt" });
    const moved = parse((await compose([...files, "config"], { POSTGRES_PASSWORD: PASSWORD, HF_E2E_KUBE_PORT: "18080" })).stdout) as Compose;
    expect(portsOf(moved.services.kube)).toEqual([{ hostIp: "127.0.0.1", published: "18080", target: "8080" }]);
  });

  maybe("refuses to start without POSTGRES_PASSWORD, naming the file that says how to set it", async () => {
    const failed = await compose(["config", "-q"], {}).then(() => undefined, (err: { stderr: string }) => err);
    expect(failed?.stderr).toMatch(/POSTGRES_PASSWORD/);
    expect(failed?.stderr).toMatch(/compose\.env\.example/);
  });
});
