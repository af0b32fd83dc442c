/** credentials-main.ts as compose runs it: a child process over temporary directories. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { authConfig, createTokenVerifier } from "../shared/auth/index.js";

let root: string;
let pub: string;
let issuer: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "hf-credentials-"));
  pub = join(root, "credentials");
  issuer = join(root, "issuer");
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts it as compose does (no nodepool adapter) and waits for its first publication. */
async function start(env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, ["--import", "tsx", "services/stack/credentials-main.ts"], {
    env: { PATH: process.env.PATH ?? "", CREDENTIALS_DIR: pub, CREDENTIALS_ISSUER_DIR: issuer, STACK_ADAPTERS: "validation,dns,placement", NODEPOOL_ADAPTERS: "", HYPERFLEET_USER: "user:ada", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (!out.includes("credentials published")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`credentials-main did not publish:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => out, exited };
}

const mode = (path: string) => statSync(path).mode & 0o777;
const SERVICES = ["adapter-dns", "adapter-placement", "adapter-validation", "sentinel"];

async function identityOf(token: string, configFile: string): Promise<string | undefined> {
  const config = authConfig({ AUTH_CONFIG: configFile });
  if (!("value" in config) || config.value.mode !== "jwt") throw new Error(JSON.stringify(config));
  const outcome = await createTokenVerifier(config.value.issuers).verify(`Bearer ${token.trim()}`);
  return outcome.ok ? outcome.token.identity : outcome.reason;
}

test("publishes what the services need, tokens that verify with it, and keeps the key and the user's token to itself", async () => {
  const { child, exited } = await start();
  expect(readdirSync(pub).sort()).toEqual(["auth.json", "jwks.json", "tokens"]);
  expect(readdirSync(join(pub, "tokens")).sort()).toEqual(SERVICES.map((s) => `${s}.token`));
  expect(mode(join(pub, "tokens"))).toBe(0o700);
  for (const s of SERVICES) expect(mode(join(pub, "tokens", `${s}.token`))).toBe(0o600);
  expect(mode(join(pub, "auth.json"))).toBe(0o644);
  expect(mode(join(issuer, "keys", "signing-keys.json"))).toBe(0o600);

  // auth.json names its JWKS relative to itself: valid wherever the volume is mounted.
  const config = JSON.parse(readFileSync(join(pub, "auth.json"), "utf8"));
  expect(config.issuers.map((i: { jwksFile: string }) => i.jwksFile)).toEqual(["jwks.json"]);
  expect(config.bindings.identities).toEqual({
    "hyperfleet:sentinel": ["sentinel"],
    "hyperfleet:adapter:validation": ["adapter:validation"],
    "hyperfleet:adapter:dns": ["adapter:dns"],
    "hyperfleet:adapter:placement": ["adapter:placement"],
    "user:ada": ["operator"],
  });
  expect(readFileSync(join(pub, "jwks.json"), "utf8")).not.toMatch(/"d"/);
  const configFile = join(pub, "auth.json");
  expect(await identityOf(readFileSync(join(pub, "tokens", "sentinel.token"), "utf8"), configFile)).toBe("hyperfleet:sentinel");
  expect(await identityOf(readFileSync(join(pub, "tokens", "adapter-dns.token"), "utf8"), configFile)).toBe("hyperfleet:adapter:dns");
  expect(await identityOf(readFileSync(join(issuer, "tokens", "user.token"), "utf8"), configFile)).toBe("user:ada");

  // SIGTERM: gone within a second.
  const t0 = Date.now();
  child.kill("SIGTERM");
  expect(await exited).toBe(0);
  expect(Date.now() - t0).toBeLessThan(1000);
});

test("renews the tokens on its interval, in place", async () => {
  await start({ CREDENTIALS_RENEW_INTERVAL: "200ms" });
  const file = join(pub, "tokens", "sentinel.token");
  const first = readFileSync(file, "utf8");
  const deadline = Date.now() + 10_000;
  while (readFileSync(file, "utf8") === first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const next = readFileSync(file, "utf8");
  expect(next).not.toBe(first);
  expect(await identityOf(next, join(pub, "auth.json"))).toBe("hyperfleet:sentinel");
});

test("started again: the same key, and no token left for an adapter no longer configured", async () => {
  const a = await start();
  const jwks = readFileSync(join(pub, "jwks.json"), "utf8");
  a.child.kill("SIGTERM");
  await a.exited;
  await start({ STACK_ADAPTERS: "validation" });
  expect(readFileSync(join(pub, "jwks.json"), "utf8")).toBe(jwks);
  expect(readdirSync(join(pub, "tokens")).sort()).toEqual(["adapter-validation.token", "sentinel.token"]);
  expect(JSON.parse(readFileSync(join(pub, "auth.json"), "utf8")).bindings.identities["hyperfleet:adapter:dns"]).toBeUndefined();
});

test("docker-compose.yml's healthcheck: unhealthy before the tokens exist and once they are stale, healthy while they are renewed", async () => {
  const compose = parse(readFileSync("docker-compose.yml", "utf8"), { merge: true }) as { services: Record<string, { healthcheck: { test: string[] } }> };
  const [kind, script] = compose.services.credentials.healthcheck.test;
  expect(kind).toBe("CMD-SHELL");
  const check = () => spawnSync("sh", ["-c", script.replaceAll("/credentials", pub)]).status;
  expect(check()).not.toBe(0);
  await start();
  expect(check()).toBe(0);
  const halfAnHourAgo = new Date(Date.now() - 30 * 60_000);
  utimesSync(join(pub, "tokens", "adapter-dns.token"), halfAnHourAgo, halfAnHourAgo);
  expect(check()).not.toBe(0);
});

test("refuses an issuer directory that the services would read", async () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "services/stack/credentials-main.ts"], {
    env: { PATH: process.env.PATH ?? "", CREDENTIALS_DIR: pub, CREDENTIALS_ISSUER_DIR: join(pub, "issuer") },
    encoding: "utf8",
    timeout: 20_000,
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/CREDENTIALS_ISSUER_DIR=.*must be outside CREDENTIALS_DIR/);
  expect(existsSync(join(pub, "issuer"))).toBe(false);
});
