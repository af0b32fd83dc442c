import { parseArgs } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { NodePoolSchema, type NodePool } from "../../../gen/hyperfleet/v1/nodepool_pb.js";
import { isUuid } from "../../shared/ids.js";
import { print, UsageError, type CliContext } from "../cli-context.js";
import { allPages } from "./pages.js";
import { nodePoolTable } from "../render/clusters.js";
import { parseLabels, parseSpec } from "./args.js";
import { resolveClusterId } from "./resolve.js";

export const NODEPOOL_USAGE = `hf nodepool create NAME --cluster ID|NAME [--label k=v]... [--spec JSON|@file]
hf nodepool update ID|NAME [--cluster ID|NAME] [--label k=v]... [--spec JSON|@file]
hf nodepool get|delete ID|NAME [--cluster ID|NAME]
hf nodepool list [--cluster ID|NAME] [--filter EXPR] [--all]`;

/** `hf nodepool ...` */
export async function nodePoolCommand(ctx: CliContext, args: string[]): Promise<void> {
  const [verb, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { cluster: { type: "string", short: "c" }, label: { type: "string", multiple: true, short: "l" }, spec: { type: "string" }, filter: { type: "string" }, all: { type: "boolean" } },
  });
  const one = (what: string) => {
    if (positionals.length !== 1) throw new UsageError(`hf nodepool ${verb}: expected one ${what}`);
    return positionals[0];
  };
  const show = (n: NodePool) => print(ctx, NodePoolSchema, [n], () => nodePoolTable([n], ctx.now()), true);
  /** A nodepool id, or a name within --cluster (names are unique per cluster only). */
  const resolve = async (idOrName: string) => {
    if (isUuid(idOrName)) return idOrName;
    if (!values.cluster) throw new UsageError("a nodepool NAME needs --cluster (or give the nodepool ID)");
    const clusterId = await resolveClusterId(ctx, values.cluster);
    const page = await ctx.api.nodepools.listNodePools({ clusterId, filter: `name = '${idOrName.replace(/['\\]/g, "")}'`, pageSize: 1 });
    if (!page.nodepools.length) throw new ConnectError(`nodepool ${JSON.stringify(idOrName)} not found in cluster ${values.cluster}`, Code.NotFound);
    return page.nodepools[0].id;
  };
  switch (verb) {
    case "create": {
      const name = one("NAME");
      if (!values.cluster) throw new UsageError("hf nodepool create: --cluster is required");
      const clusterId = await resolveClusterId(ctx, values.cluster);
      show(await ctx.api.nodepools.createNodePool({ clusterId, name, labels: parseLabels(values.label), spec: parseSpec(values.spec) ?? {} }));
      return;
    }
    case "update": {
      const id = await resolve(one("ID"));
      const spec = parseSpec(values.spec);
      if (values.label === undefined && spec === undefined) throw new UsageError("hf nodepool update: give --label and/or --spec");
      const paths = [...(values.label !== undefined ? ["labels"] : []), ...(spec !== undefined ? ["spec"] : [])];
      show(await ctx.api.nodepools.updateNodePool({ id, labels: parseLabels(values.label), spec, updateMask: { paths } }));
      return;
    }
    case "get":
      show(await ctx.api.nodepools.getNodePool({ id: await resolve(one("ID")) }));
      return;
    case "delete":
      show(await ctx.api.nodepools.deleteNodePool({ id: await resolve(one("ID")) }));
      return;
    case "list": {
      if (positionals.length) throw new UsageError("hf nodepool list: takes no arguments");
      const clusterId = values.cluster ? await resolveClusterId(ctx, values.cluster) : "";
      const items = await allPages(async (pageToken, pageSize) => {
        const page = await ctx.api.nodepools.listNodePools({ clusterId, filter: values.filter ?? "", pageToken, pageSize, showDeleted: values.all ?? false });
        return { items: page.nodepools, nextPageToken: page.nextPageToken };
      });
      print(ctx, NodePoolSchema, items, () => nodePoolTable(items, ctx.now()));
      return;
    }
    default:
      throw new UsageError(`hf nodepool: unknown command ${JSON.stringify(verb ?? "")}`);
  }
}
