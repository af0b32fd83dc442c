import { readFileSync } from "node:fs";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createApiClient, type ApiClientOptions } from "../shared/api-client.js";
import { UsageError, type CliContext, type OutputFormat } from "./cli-context.js";
import { CLUSTER_USAGE, clusterCommand } from "./commands/cluster.js";
import { NODEPOOL_USAGE, nodePoolCommand } from "./commands/nodepool.js";
import { STATUS_USAGE, statusCommand } from "./commands/status.js";
import { WATCH_USAGE, watchCommand } from "./commands/watch.js";
import { credentialsPath, normaliseApiUrl, resolveCredentials } from "./credentials.js";
import { errorHint } from "./error-hint.js";

const USAGE = `usage:
${CLUSTER_USAGE}
${NODEPOOL_USAGE}
${STATUS_USAGE}
${WATCH_USAGE}
hf token                  print the bearer token hf sends to --api (for buf curl, curl)

global flags: -o table|json|yaml   --api URL (or HF_API_URL, default http://127.0.0.1:8000)   --no-color
credentials:  --token TOKEN (or HF_TOKEN)   --token-file PATH (or HF_TOKEN_FILE)   --ca PATH (or HF_CA; https only)
              otherwise the entry for --api in HF_CREDENTIALS (default ~/.hyperfleet/credentials.json), which npm start writes`;

const API_COMMANDS = new Map<string, (ctx: CliContext, args: string[]) => Promise<void>>([
  ["cluster", clusterCommand],
  ["clusters", clusterCommand],
  ["nodepool", nodePoolCommand],
  ["nodepools", nodePoolCommand],
  ["status", statusCommand],
  ["watch", watchCommand],
]);

/** TLS settings createApiClient is gaining (ApiClientOptions.tls); declared here until it has them, and compatible after. */
type ClientOptions = ApiClientOptions & { tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer } };

/** Sets `authorization: Bearer <token>` on every call. */
function bearer(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}

/** Runs `hf` with `argv`; resolves with the exit code (0 ok, 1 server or credentials error, 2 usage). */
export async function run(argv: string[], env: Record<string, string | undefined>, io: { out: (s: string) => void; err: (s: string) => void; isTTY: boolean; signal?: AbortSignal }): Promise<number> {
  const args = [...argv];
  const take = (flag: string, short?: string): string | undefined => {
    const i = args.findIndex((a) => a === flag || a === short || a.startsWith(`${flag}=`));
    if (i < 0) return undefined;
    const [a] = args.splice(i, 1);
    if (a.includes("=")) return a.slice(a.indexOf("=") + 1);
    const [v] = args.splice(i, 1);
    if (v === undefined) throw new UsageError(`${flag}: needs a value`);
    return v;
  };
  // Known once credentials are resolved: what the error hints say about them.
  let sent: { api: string; token?: string; source: string } | undefined;
  try {
    const output = (take("--output", "-o") ?? "table") as OutputFormat;
    if (!["table", "json", "yaml"].includes(output)) throw new UsageError("-o: table, json or yaml");
    const api = take("--api") ?? env.HF_API_URL ?? "http://127.0.0.1:8000";
    const flagToken = take("--token");
    const flagTokenFile = take("--token-file");
    const flagCa = take("--ca");
    const noColor = args.includes("--no-color");
    if (noColor) args.splice(args.indexOf("--no-color"), 1);
    const [noun, ...rest] = args;
    if (noun === "help" || noun === "--help" || noun === "-h") {
      io.out(USAGE);
      return 0;
    }
    const command = API_COMMANDS.get(noun);
    if (!command && noun !== "token") throw new UsageError(noun ? `unknown command ${JSON.stringify(noun)}` : "no command given");
    if (!command && rest.length > 0) throw new UsageError("hf token: takes no arguments");
    const apiUrl = normaliseApiUrl(api);
    if (apiUrl === undefined) throw new UsageError(`--api / HF_API_URL ${JSON.stringify(api)}: expected an http:// or https:// URL`);

    const creds = resolveCredentials({ apiUrl: api, flagToken, flagTokenFile, flagCa, env });
    if ("error" in creds) {
      io.err(`hf: ${creds.error}`);
      return 1;
    }
    if (command === undefined) {
      // hf token
      if (creds.token === undefined) {
        io.err(`hf: no token for ${apiUrl}: run npm start, which writes credentials to ${credentialsPath(env)}, or pass --token / HF_TOKEN / --token-file`);
        return 1;
      }
      io.out(creds.token);
      return 0;
    }
    let ca: Buffer | undefined;
    if (creds.caFile !== undefined && apiUrl.startsWith("https:")) {
      try {
        ca = readFileSync(creds.caFile);
      } catch (err) {
        io.err(`hf: CA file ${creds.caFile} (from ${creds.caSource}): cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        return 1;
      }
    }
    sent = { api: apiUrl, token: creds.token, source: creds.source };
    const clientOptions: ClientOptions = { timeoutMs: 10_000, interceptors: creds.token === undefined ? [] : [bearer(creds.token)], tls: ca ? { ca } : undefined };
    const ctx: CliContext = {
      api: createApiClient(api, clientOptions),
      output,
      color: io.isTTY && !noColor && env.NO_COLOR === undefined,
      out: io.out,
      err: io.err,
      signal: io.signal,
      now: () => new Date(),
      isTTY: io.isTTY,
      sleep: (ms) =>
        new Promise((resolve) => {
          if (io.signal?.aborted) return resolve(false);
          const t = setTimeout(() => resolve(true), ms);
          io.signal?.addEventListener("abort", () => { clearTimeout(t); resolve(false); }, { once: true });
        }),
    };
    await command(ctx, rest);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS"))) {
      io.err(`${err.message.startsWith("hf ") ? "" : "hf: "}${err.message}\n\n${USAGE}`);
      return 2;
    }
    const ce = ConnectError.from(err);
    const hint = sent ? errorHint({ code: ce.code, rawMessage: ce.rawMessage, credentialsPath: credentialsPath(env), ...sent }) : ce.code === Code.Unavailable ? " (is the API running? see --api / HF_API_URL)" : "";
    io.err(`hf: ${Code[ce.code]}: ${ce.rawMessage}${hint}`);
    return 1;
  }
}
