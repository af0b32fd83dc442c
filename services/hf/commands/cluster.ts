import { parseArgs } from "node:util";
import { ClusterSchema, type Cluster } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { print, UsageError, type CliContext } from "../cli-context.js";
import { allPages } from "./pages.js";
import { clusterTable } from "../render/clusters.js";
import { parseLabels, parseSpec } from "./args.js";
import { resolveClusterId } from "./resolve.js";

export const CLUSTER_USAGE = `hf cluster create NAME [--label k=v]... [--spec JSON|@file]
hf cluster update ID|NAME [--label k=v]... [--spec JSON|@file]
hf cluster get ID|NAME
hf cluster list [--filter EXPR] [--all]
hf cluster delete ID|NAME [--force --reason TEXT]`;

/** `hf cluster ...` */
export async function clusterCommand(ctx: CliContext, args: string[]): Promise<void> {
  const [verb, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      label: { type: "string", multiple: true, short: "l" },
      spec: { type: "string" },
      filter: { type: "string" },
      all: { type: "boolean" },
      force: { type: "boolean" },
      reason: { type: "string" },
    },
  });
  const one = (what: string) => {
    if (positionals.length !== 1) throw new UsageError(`hf cluster ${verb}: expected one ${what}`);
    return positionals[0];
  };
  const show = (c: Cluster) => print(ctx, ClusterSchema, [c], () => clusterTable([c], ctx.now()), true);
  switch (verb) {
    case "create": {
      const name = one("NAME");
      show(await ctx.api.clusters.createCluster({ name, labels: parseLabels(values.label), spec: parseSpec(values.spec) ?? {} }));
      return;
    }
    case "update": {
      const id = await resolveClusterId(ctx, one("ID"));
      const spec = parseSpec(values.spec);
      if (values.label === undefined && spec === undefined) throw new UsageError("hf cluster update: give --label and/or --spec");
      const paths = [...(values.label !== undefined ? ["labels"] : []), ...(spec !== undefined ? ["spec"] : [])];
      show(await ctx.api.clusters.updateCluster({ id, labels: parseLabels(values.label), spec, updateMask: { paths } }));
      return;
    }
    case "get":
      show(await ctx.api.clusters.getCluster({ id: await resolveClusterId(ctx, one("ID")) }));
      return;
    case "delete": {
      const id = await resolveClusterId(ctx, one("ID"), true);
      if (values.force) {
        if (!values.reason) throw new UsageError("hf cluster delete --force: --reason TEXT is required (it is logged)");
        const r = await ctx.api.clusters.forceDeleteCluster({ id, reason: values.reason });
        ctx.out(ctx.output === "table" ? `cluster ${id} removed (${r.nodepoolsRemoved} nodepools)` : JSON.stringify({ id, nodepoolsRemoved: Number(r.nodepoolsRemoved) }));
        return;
      }
      show(await ctx.api.clusters.deleteCluster({ id }));
      return;
    }
    case "list": {
      if (positionals.length) throw new UsageError("hf cluster list: takes no arguments");
      const clusters = await allPages(async (pageToken, pageSize) => {
        const page = await ctx.api.clusters.listClusters({ filter: values.filter ?? "", pageToken, pageSize, showDeleted: values.all ?? false });
        return { items: page.clusters, nextPageToken: page.nextPageToken };
      });
      print(ctx, ClusterSchema, clusters, () => clusterTable(clusters, ctx.now()));
      return;
    }
    default:
      throw new UsageError(`hf cluster: unknown command ${JSON.stringify(verb ?? "")}`);
  }
}
