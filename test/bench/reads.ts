/** Benchmark 2: GetCluster throughput and p99; ListClusters (page of 100, label filter) p99 over a large fleet. */
import { createApiClient } from "../../services/shared/api-client.js";
import { benchApi, load, table } from "./support.js";

export async function benchReads(opts: { clusters: number; seconds: number; concurrency: number }): Promise<Record<string, number>> {
  const { db, ids, api } = await benchApi("reads", opts.clusters, opts.concurrency);
  const client = createApiClient(api.url);
  const get = () => client.clusters.getCluster({ id: ids[Math.floor(Math.random() * ids.length)] });
  await load(opts.concurrency, 1000, get);
  const g = await load(opts.concurrency, opts.seconds * 1000, get);
  const list = () => client.clusters.listClusters({ pageSize: 100, filter: `labels.shard = '${Math.floor(Math.random() * 100)}' and labels.env = 'prod'` });
  await load(4, 1000, list);
  const l = await load(4, opts.seconds * 1000, list);
  const listAll = () => client.clusters.listClusters({ pageSize: 100, filter: `labels.shard = '${Math.floor(Math.random() * 100)}'` });
  const l2 = await load(4, opts.seconds * 1000, listAll);
  const apiRss = api.peakRssMb();
  await api.stop();
  await db.drop();
  table(`Reads over ${opts.clusters} clusters, ${opts.seconds}s each`, [
    { what: `GetCluster (${opts.concurrency} clients)`, "ops/s": g.perSecond, "p50 ms": g.p50, "p99 ms": g.p99, errors: g.errors },
    { what: "ListClusters 100, shard+env filter (4 clients)", "ops/s": l.perSecond, "p50 ms": l.p50, "p99 ms": l.p99, errors: l.errors },
    { what: "ListClusters 100, shard filter (4 clients)", "ops/s": l2.perSecond, "p50 ms": l2.p50, "p99 ms": l2.p99, errors: l2.errors },
  ]);
  console.log(`targets: GetCluster ≥ 3000/s with p99 ≤ 10 ms; ListClusters p99 ≤ 30 ms at 100,000 clusters; API peak RSS ${apiRss} MB`);
  return { getPerSecond: g.perSecond, getP99: g.p99, listP99: Math.max(l.p99, l2.p99) };
}
