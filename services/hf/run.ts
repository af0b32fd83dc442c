import { Code, ConnectError } from "@connectrpc/connect";
import { createApiClient } from "../shared/api-client.js";
import { UsageError, type CliContext, type OutputFormat } from "./cli-context.js";
import { CLUSTER_USAGE, clusterCommand } from "./commands/cluster.js";
import { NODEPOOL_USAGE, nodePoolCommand } from "./commands/nodepool.js";
import { STATUS_USAGE, statusCommand } from "./commands/status.js";
import { WATCH_USAGE, watchCommand } from "./commands/watch.js";

const USAGE = `usage:
${CLUSTER_USAGE}
${NODEPOOL_USAGE}
${STATUS_USAGE}
${WATCH_USAGE}

global flags: -o table|json|yaml   --api URL (or HF_API_URL, default http://127.0.0.1:8000)   --no-color`;

/** Runs `hf` with `argv`; resolves with the exit code (0 ok, 1 server error, 2 usage). */
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
  try {
    const output = (take("--output", "-o") ?? "table") as OutputFormat;
    if (!["table", "json", "yaml"].includes(output)) throw new UsageError("-o: table, json or yaml");
    const api = take("--api") ?? env.HF_API_URL ?? "http://127.0.0.1:8000";
    const noColor = args.includes("--no-color");
    if (noColor) args.splice(args.indexOf("--no-color"), 1);
    const ctx: CliContext = {
      api: createApiClient(api, { timeoutMs: 10_000 }),
      output,
      color: io.isTTY && !noColor && env.NO_COLOR === undefined,
      out: io.out,
      now: () => new Date(),
      isTTY: io.isTTY,
      sleep: (ms) =>
        new Promise((resolve) => {
          if (io.signal?.aborted) return resolve(false);
          const t = setTimeout(() => resolve(true), ms);
          io.signal?.addEventListener("abort", () => { clearTimeout(t); resolve(false); }, { once: true });
        }),
    };
    const [noun, ...rest] = args;
    switch (noun) {
      case "cluster":
      case "clusters":
        await clusterCommand(ctx, rest);
        return 0;
      case "nodepool":
      case "nodepools":
        await nodePoolCommand(ctx, rest);
        return 0;
      case "status":
        await statusCommand(ctx, rest);
        return 0;
      case "watch":
        await watchCommand(ctx, rest);
        return 0;
      case "help":
      case "--help":
      case "-h":
        io.out(USAGE);
        return 0;
      default:
        throw new UsageError(noun ? `unknown command ${JSON.stringify(noun)}` : "no command given");
    }
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS"))) {
      io.err(`${err.message.startsWith("hf ") ? "" : "hf: "}${err.message}\n\n${USAGE}`);
      return 2;
    }
    const ce = ConnectError.from(err);
    const hint = ce.code === Code.Unavailable ? " (is the API running? see --api / HF_API_URL)" : "";
    io.err(`hf: ${Code[ce.code]}: ${ce.rawMessage}${hint}`);
    return 1;
  }
}
