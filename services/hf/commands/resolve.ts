import { Code, ConnectError } from "@connectrpc/connect";
import type { CliContext } from "../cli-context.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Accepts a cluster id or a live cluster's name (what users remember). */
export async function resolveClusterId(ctx: CliContext, idOrName: string): Promise<string> {
  if (UUID.test(idOrName)) return idOrName;
  const page = await ctx.api.clusters.listClusters({ filter: `name = '${idOrName.replace(/['\\]/g, "")}'`, pageSize: 1 });
  if (page.clusters.length === 0) throw new ConnectError(`cluster ${JSON.stringify(idOrName)} not found`, Code.NotFound);
  return page.clusters[0].id;
}
