import { parseArgs } from "node:util";
import { parseDuration } from "../../shared/config.js";
import type { AdapterStatus } from "../../../gen/hyperfleet/v1/status_pb.js";
import { UsageError, type CliContext } from "../cli-context.js";
import { allPages } from "./pages.js";
import { watchTable } from "../render/clusters.js";
import { renderTable } from "../render/table.js";

export const WATCH_USAGE = "hf watch [--filter EXPR] [--interval 1s] [--once]";

/** `hf watch`: a live table of clusters and their adapters, redrawn in place on a TTY. */
export async function watchCommand(ctx: CliContext, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { filter: { type: "string" }, interval: { type: "string" }, once: { type: "boolean" } } });
  const intervalMs = parseDuration(values.interval ?? "1s");
  if (intervalMs === undefined) throw new UsageError("--interval: a duration like 500ms or 2s");
  let last = "";
  for (;;) {
    const clusters = await allPages(async (pageToken, pageSize) => {
      const page = await ctx.api.clusters.listClusters({ filter: values.filter ?? "", pageToken, pageSize, showDeleted: true });
      return { items: page.clusters, nextPageToken: page.nextPageToken };
    });
    const statuses = new Map<string, AdapterStatus[]>();
    await Promise.all(clusters.map(async (c) => statuses.set(c.id, (await ctx.api.statuses.listStatuses({ resourceId: c.id })).statuses)));
    const t = watchTable(clusters, statuses, ctx.now());
    const text = clusters.length ? renderTable(t.columns, t.rows, { color: ctx.color }) : "no clusters yet";
    if (ctx.isTTY) ctx.out(`\x1b[H\x1b[2J${new Date().toISOString()}  (Ctrl-C to stop)\n\n${text}`);
    else if (text !== last) ctx.out(`${text}\n`);
    last = text;
    if (values.once || !(await ctx.sleep(intervalMs))) return;
  }
}
