import { parseArgs } from "node:util";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ConditionStatus } from "../../../gen/hyperfleet/v1/condition_pb.js";
import { AdapterStatusSchema } from "../../../gen/hyperfleet/v1/status_pb.js";
import { print, UsageError, type CliContext } from "../cli-context.js";
import { statusTable } from "../render/clusters.js";
import { parseSpec } from "./args.js";
import { resolveClusterId } from "./resolve.js";

export const STATUS_USAGE = `hf status list ID|NAME
hf status report ID|NAME --adapter NAME --generation N --applied B --available B --health B
                [--reason R] [--message M] [--data JSON]      (B: True|False|Unknown)`;

const WORDS: Record<string, ConditionStatus> = { true: ConditionStatus.TRUE, false: ConditionStatus.FALSE, unknown: ConditionStatus.UNKNOWN };

/** `hf status ...` */
export async function statusCommand(ctx: CliContext, args: string[]): Promise<void> {
  const [verb, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      adapter: { type: "string" },
      generation: { type: "string" },
      applied: { type: "string" },
      available: { type: "string" },
      health: { type: "string" },
      reason: { type: "string" },
      message: { type: "string" },
      data: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UsageError(`hf status ${verb ?? ""}: expected one cluster ID or NAME`);
  const id = await resolveClusterId(ctx, positionals[0]);
  if (verb === "list") {
    const { statuses } = await ctx.api.statuses.listStatuses({ resourceId: id });
    print(ctx, AdapterStatusSchema, statuses, () => statusTable(statuses, ctx.now()));
    return;
  }
  if (verb !== "report") throw new UsageError(`hf status: unknown command ${JSON.stringify(verb ?? "")}`);
  const word = (flag: "applied" | "available" | "health") => {
    const v = WORDS[(values[flag] ?? "").toLowerCase()];
    if (v === undefined) throw new UsageError(`--${flag}: expected True, False or Unknown`);
    return v;
  };
  if (!values.adapter) throw new UsageError("--adapter: required");
  if (!/^\d+$/.test(values.generation ?? "")) throw new UsageError("--generation: required, a whole number");
  const res = await ctx.api.statuses.reportStatus({
    resourceId: id,
    adapter: values.adapter,
    observedGeneration: BigInt(values.generation!),
    observedTime: timestampFromDate(ctx.now()),
    conditions: [
      { type: "Applied", status: word("applied") },
      { type: "Available", status: word("available"), reason: values.reason ?? "", message: values.message ?? "" },
      { type: "Health", status: word("health") },
    ],
    data: parseSpec(values.data),
  });
  if (ctx.output !== "table") {
    ctx.out(JSON.stringify({ stored: res.stored, outcome: res.outcome }, null, 2));
    return;
  }
  ctx.out(res.stored ? "stored" : `discarded (${res.outcome})`);
}
