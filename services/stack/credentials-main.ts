/**
 * The local bootstrap of `npm start` (local-auth.ts) as a process of its own, for docker compose and
 * other deployments without Kubernetes: it keeps a local issuer, issues a token per service and one for
 * the user, renews them every CREDENTIALS_RENEW_INTERVAL (15 min; service tokens live 1 h), and
 * publishes what the services need into CREDENTIALS_DIR, a directory they mount read-only at that same
 * path:
 *
 *   CREDENTIALS_DIR/auth.json            AUTH_CONFIG for every service (0644)
 *   CREDENTIALS_DIR/jwks.json            the issuer's public keys, named relative to auth.json (0644)
 *   CREDENTIALS_DIR/tokens/<name>.token  API_TOKEN_FILE of `sentinel` and of each `adapter-<name>` (0600, in 0700)
 *
 * The signing key and the user's operator token stay in CREDENTIALS_ISSUER_DIR, which only this
 * process mounts: a service that can read the directory it is given can act as any service, never
 * mint tokens nor act as the operator. The user reads their token from there
 * (`docker compose exec -T credentials cat /issuer/tokens/user.token`; docs/running.md).
 *
 * Files are readable by this process's uid only, so the services must run as the same uid: in compose
 * every container runs the image's `node` user, and the Dockerfile makes both directories its own.
 *
 * Environment: CREDENTIALS_DIR (default /credentials), CREDENTIALS_ISSUER_DIR (default /issuer),
 * STACK_ADAPTERS (default validation,dns,placement), NODEPOOL_ADAPTERS (default nodepool; set and
 * empty: none), HYPERFLEET_USER (default user:<login>), CREDENTIALS_RENEW_INTERVAL, LOG_LEVEL.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { collect, ConfigError, duration, str, type Parsed } from "../shared/config.js";
import { createLogger } from "../shared/log.js";
import { onShutdown } from "../shared/shutdown.js";
import { openLocalAuth, RENEW_MS, stackIdentities, type LocalAuth } from "./local-auth.js";

/** Service tokens live an hour (local-auth.ts): a renewal must come well before one expires. */
const MAX_RENEW_MS = 30 * 60_000;

interface CredentialsConfig {
  dir: string;
  issuerDir: string;
  adapters: string[];
  user: string;
  renewMs: number;
  logLevel: string;
}

/** A comma-separated list; unlike the services' lists, a variable set to "" means none (compose has no nodepool adapter). */
function names(env: Record<string, string | undefined>, name: string, fallback: string[]): Parsed<string[]> {
  const v = env[name];
  if (v === undefined) return { value: fallback };
  const items = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  // Each name becomes a file name (tokens/adapter-<name>.token).
  const bad = items.find((s) => !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(s));
  if (bad !== undefined) return { error: `${name}=${JSON.stringify(v)}: ${JSON.stringify(bad)} is not an adapter name (letters, digits, _ . -)` };
  return { value: items };
}

function loadConfig(env: Record<string, string | undefined>): CredentialsConfig {
  const config = collect<Omit<CredentialsConfig, "adapters"> & { clusterAdapters: string[]; nodepoolAdapters: string[] }>({
    dir: str(env, "CREDENTIALS_DIR", "/credentials"),
    issuerDir: str(env, "CREDENTIALS_ISSUER_DIR", "/issuer"),
    clusterAdapters: names(env, "STACK_ADAPTERS", ["validation", "dns", "placement"]),
    nodepoolAdapters: names(env, "NODEPOOL_ADAPTERS", ["nodepool"]),
    user: str(env, "HYPERFLEET_USER", `user:${loginName()}`),
    renewMs: duration(env, "CREDENTIALS_RENEW_INTERVAL", RENEW_MS),
    logLevel: str(env, "LOG_LEVEL", "info"),
  });
  const problems: string[] = [];
  if (config.renewMs > MAX_RENEW_MS) problems.push(`CREDENTIALS_RENEW_INTERVAL: at most 30m (service tokens live 1h)`);
  const dir = resolve(config.dir);
  const issuerDir = resolve(config.issuerDir);
  const within = relative(dir, issuerDir);
  if (within === "" || (!within.startsWith("..") && !isAbsolute(within))) {
    problems.push(`CREDENTIALS_ISSUER_DIR=${JSON.stringify(config.issuerDir)}: must be outside CREDENTIALS_DIR, which every service reads (it holds the signing key)`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const { clusterAdapters, nodepoolAdapters, ...rest } = config;
  return { ...rest, dir, issuerDir, adapters: [...new Set([...clusterAdapters, ...nodepoolAdapters])] };
}

function loginName(): string {
  try {
    return userInfo().username || "local";
  } catch {
    return "local"; // no passwd entry (a container's arbitrary uid)
  }
}

/** Written beside and renamed into place: a reader never sees half a file. */
function writeWhole(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/**
 * Copies the services' share of `auth` into `dir`: the auth configuration (its JWKS file named
 * relative to it, so that it holds wherever the directory is mounted), the public keys, and the token
 * of each service. Tokens of callers no longer configured are removed.
 */
function publish(auth: LocalAuth, dir: string, services: string[]): void {
  const tokens = join(dir, "tokens");
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  mkdirSync(tokens, { recursive: true, mode: 0o700 });
  const config = JSON.parse(readFileSync(auth.configFile, "utf8")) as { issuers: { jwksFile?: string }[] };
  writeWhole(join(dir, "jwks.json"), readFileSync(auth.issuer.jwksFile, "utf8"), 0o644);
  for (const issuer of config.issuers) issuer.jwksFile = "jwks.json";
  writeWhole(join(dir, "auth.json"), `${JSON.stringify(config, null, 2)}\n`, 0o644);
  for (const name of services) writeWhole(join(tokens, `${name}.token`), readFileSync(auth.tokenFile(name), "utf8"), 0o600);
  const wanted = new Set(services.map((n) => `${n}.token`));
  for (const f of readdirSync(tokens)) if (!wanted.has(f)) rmSync(join(tokens, f), { force: true });
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger("credentials", config.logLevel);
  const services = stackIdentities(config.adapters, config.user)
    .map((c) => c.name)
    .filter((n) => n !== "user");
  let auth: LocalAuth;
  try {
    auth = await openLocalAuth(config.issuerDir, config.adapters, config.user);
    publish(auth, config.dir, services);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // The usual cause under compose: a volume created before the image made its mount point node's.
    const hint = e.code === "EACCES" || e.code === "EPERM" ? ` (uid ${process.getuid?.()} cannot write there: the directory must belong to the user this runs as)` : "";
    throw new Error(`${e.message}${hint}`);
  }
  log.info({ dir: config.dir, issuerDir: config.issuerDir, services, user: config.user, renewEveryMs: config.renewMs }, "credentials published");

  let renewing: Promise<void> | undefined;
  const renew = async () => {
    try {
      await auth.renew();
      publish(auth, config.dir, services);
      log.info({ services: services.length }, "tokens renewed");
    } catch (err) {
      // The previous tokens hold for the rest of their hour; the next interval tries again, and the
      // healthcheck turns unhealthy once the files are older than a renewal should allow.
      log.error({ err: String(err) }, "could not renew the tokens");
    }
  };
  const timer = setInterval(() => {
    renewing ??= renew().finally(() => (renewing = undefined));
  }, config.renewMs);
  onShutdown(log, [{ name: "stop renewing", run: () => clearInterval(timer) }, { name: "the renewal in progress", run: () => renewing }], { deadlineMs: 1000 });
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(JSON.stringify({ level: 60, time: new Date().toISOString(), service: "credentials", msg: "failed to start", err: String(err instanceof Error ? err.message : err) }));
  process.exit(1);
});
