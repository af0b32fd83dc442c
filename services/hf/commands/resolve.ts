import { Code, ConnectError } from "@connectrpc/connect";
import { isUuid } from "../../shared/ids.js";
import type { CliContext } from "../cli-context.js";

/** Accepts a cluster id or a cluster's name (what users remember); live clusters win over deleted ones. */
export async function resolveClusterId(ctx: CliContext, idOrName: string, includeDeleted = false): Promise<string> {
  if (isUuid(idOrName)) return idOrName;
  const filter = `name = '${idOrName.replace(/['\\]/g, "")}'`;
  let page = await ctx.api.clusters.listClusters({ filter, pageSize: 1 });
  if (page.clusters.length === 0 && includeDeleted) page = await ctx.api.clusters.listClusters({ filter, pageSize: 1, showDeleted: true });
  if (page.clusters.length === 0) throw new ConnectError(`cluster ${JSON.stringify(idOrName)} not found`, Code.NotFound);
  return page.clusters[0].id;
}
