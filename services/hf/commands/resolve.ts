import { Code, ConnectError } from "@connectrpc/connect";
import type { CliContext } from "../cli-context.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Accepts a cluster id or a cluster's name (what users remember); live clusters win over deleted ones. */
export async function resolveClusterId(ctx: CliContext, idOrName: string, includeDeleted = false): Promise<string> {
  if (UUID.test(idOrName)) return idOrName;
  const filter = `name = '${idOrName.replace(/['\\]/g, "")}'`;
  let page = await ctx.api.clusters.listClusters({ filter, pageSize: 1 });
  if (page.clusters.length === 0 && includeDeleted) page = await ctx.api.clusters.listClusters({ filter, pageSize: 1, showDeleted: true });
  if (page.clusters.length === 0) throw new ConnectError(`cluster ${JSON.stringify(idOrName)} not found`, Code.NotFound);
  return page.clusters[0].id;
}
