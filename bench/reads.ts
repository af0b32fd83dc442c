/** Benchmark 2: GetCluster throughput and p99; ListClusters (page of 100, label filter) p99 over a large fleet. */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { ClusterService, GetClusterRequestSchema, ListClustersRequestSchema } from "../gen/hyperfleet/v1/cluster_pb.js";
import { encodeFrame } from "../services/shared/rpc/grpc-wire.js";
import { createApiClient, type ApiClient } from "../services/shared/api-client.js";
import { benchApi, load, rawGrpcCaller, table, type LoadResult } from "./support.js";

const run = promisify(execFile);

/** GetCluster of a random cluster per call. */
export const getCalls = (client: ApiClient, ids: string[]) => () => client.clusters.getCluster({ id: ids[Math.floor(Math.random() * ids.length)] });

/** A GetCluster request as gRPC frames it (the lean caller's and h2load's). */
const getClusterFrame = (id: string) => encodeFrame(toBinary(GetClusterRequestSchema, create(GetClusterRequestSchema, { id })));

/** Calls through the lean caller, each with one of `frames` picked at random. */
const randomFrames = (caller: ReturnType<typeof rawGrpcCaller>, frames: Buffer[]) => () => caller.call(frames[Math.floor(Math.random() * frames.length)]);

/** A page of 100 clusters of a random shard (1 % of the seeded fleet) per call. */
export const shardListCalls = (client: ApiClient) => () => client.clusters.listClusters({ pageSize: 100, filter: `labels.shard = '${Math.floor(Math.random() * 100)}'` });

export async function benchReads(opts: { clusters: number; seconds: number; concurrency: number }): Promise<Record<string, number>> {
  const { db, ids, api } = await benchApi("reads", opts.clusters, opts.concurrency);
  const client = createApiClient(api.url);
  const get = getCalls(client, ids);
  await load(opts.concurrency, 1000, get);
  const g = await load(opts.concurrency, opts.seconds * 1000, get);
  const h2 = await h2loadGetCluster(api.url, ids[0], opts.seconds, opts.concurrency);
  // Fewer calls in flight: the same API, less queueing in front of it (throughput against p99).
  const h2half = await h2loadGetCluster(api.url, ids[0], opts.seconds, Math.max(1, opts.concurrency / 2));
  // The lean caller, a random id per call: the API's rate without the Node client's decoding on the
  // same cores, and without h2load's one repeated id (which batched gets read once per batch).
  const rawGet = rawGrpcCaller(api.url, `/${ClusterService.typeName}/${ClusterService.method.getCluster.name}`);
  const randomGet = randomFrames(rawGet, ids.slice(0, 10_000).map(getClusterFrame));
  await load(opts.concurrency, 1000, randomGet);
  const rg = await load(opts.concurrency, opts.seconds * 1000, randomGet);
  const rgHalf = await load(Math.max(1, opts.concurrency / 2), opts.seconds * 1000, randomGet);
  await rawGet.close();
  const list = () => client.clusters.listClusters({ pageSize: 100, filter: `labels.shard = '${Math.floor(Math.random() * 100)}' and labels.env = 'prod'` });
  const listAll = shardListCalls(client);
  await load(4, 1000, list);
  // One client: the latency of a list call; four: the same while others list too.
  const l1 = await load(1, opts.seconds * 1000, list);
  const l = await load(4, opts.seconds * 1000, list);
  const l21 = await load(1, opts.seconds * 1000, listAll);
  const l2 = await load(4, opts.seconds * 1000, listAll);
  // The same one-client lists from the lean caller: requests encoded up front, pages not decoded.
  // Decoding a page of 100 costs the Node client ~5 ms on the same cores, inside each call's time.
  const raw = rawGrpcCaller(api.url, `/${ClusterService.typeName}/${ClusterService.method.listClusters.name}`);
  const listFrames = (filter: (shard: number) => string) => Array.from({ length: 100 }, (_, shard) => encodeFrame(toBinary(ListClustersRequestSchema, create(ListClustersRequestSchema, { pageSize: 100, filter: filter(shard) }))));
  const envFrames = listFrames((shard) => `labels.shard = '${shard}' and labels.env = 'prod'`);
  const shardFrames = listFrames((shard) => `labels.shard = '${shard}'`);
  const pick = (frames: Buffer[]) => randomFrames(raw, frames);
  await load(1, 1000, pick(envFrames));
  const r1 = await load(1, opts.seconds * 1000, pick(envFrames));
  const r21 = await load(1, opts.seconds * 1000, pick(shardFrames));
  await raw.close();
  const apiRss = api.peakRssMb();
  await api.stop();
  await db.drop();
  table(`Reads over ${opts.clusters} clusters, ${opts.seconds}s each`, [
    { what: `GetCluster (${opts.concurrency} clients)`, "ops/s": g.perSecond, "p50 ms": g.p50, "p99 ms": g.p99, errors: g.errors },
    { what: `GetCluster, lean caller (${opts.concurrency}, random ids)`, "ops/s": rg.perSecond, "p50 ms": rg.p50, "p99 ms": rg.p99, errors: rg.errors },
    { what: `GetCluster, lean caller (${Math.max(1, opts.concurrency / 2)}, random ids)`, "ops/s": rgHalf.perSecond, "p50 ms": rgHalf.p50, "p99 ms": rgHalf.p99, errors: rgHalf.errors },
    ...[h2, h2half].flatMap((r) => (r ? [{ what: `GetCluster, h2load (${r.streams} streams, one id)`, "ops/s": r.perSecond, "p50 ms": r.p50, "p99 ms": r.p99, errors: r.errors }] : [])),
    { what: "ListClusters 100, shard+env filter (1 client)", "ops/s": l1.perSecond, "p50 ms": l1.p50, "p99 ms": l1.p99, errors: l1.errors },
    { what: "ListClusters 100, shard+env filter (4 clients)", "ops/s": l.perSecond, "p50 ms": l.p50, "p99 ms": l.p99, errors: l.errors },
    { what: "ListClusters 100, shard filter (1 client)", "ops/s": l21.perSecond, "p50 ms": l21.p50, "p99 ms": l21.p99, errors: l21.errors },
    { what: "ListClusters 100, shard filter (4 clients)", "ops/s": l2.perSecond, "p50 ms": l2.p50, "p99 ms": l2.p99, errors: l2.errors },
    { what: "ListClusters 100, shard+env, lean caller (1)", "ops/s": r1.perSecond, "p50 ms": r1.p50, "p99 ms": r1.p99, errors: r1.errors },
    { what: "ListClusters 100, shard, lean caller (1)", "ops/s": r21.perSecond, "p50 ms": r21.p50, "p99 ms": r21.p99, errors: r21.errors },
  ]);
  console.log(`targets: GetCluster ≥ 3000/s with p99 ≤ 10 ms; ListClusters p99 ≤ 30 ms at 100,000 clusters; API peak RSS ${apiRss} MB`);
  return { getPerSecond: g.perSecond, getP99: g.p99, h2loadGetPerSecond: h2?.perSecond ?? NaN, leanGetPerSecond: rg.perSecond, leanGetP99: rg.p99, listP99: Math.max(l1.p99, l21.p99), listP99Lean: Math.max(r1.p99, r21.p99), listP99Concurrent: Math.max(l.p99, l2.p99) };
}

/**
 * GetCluster driven by h2load (nghttp2's C load generator, Debian nghttp2-client) when installed: the
 * Node load generator above costs about as much CPU per call as the API on these two shared cores,
 * so this row shows what the API itself sustains. One HTTP/2 connection, `streams` concurrent calls.
 */
async function h2loadGetCluster(url: string, id: string, seconds: number, streams: number): Promise<(LoadResult & { streams: number }) | undefined> {
  const dir = mkdtempSync(join(tmpdir(), "hf-h2load-"));
  try {
    writeFileSync(join(dir, "get.bin"), getClusterFrame(id));
    const args = ["-D", String(seconds), "--warm-up-time=1", "-c", "1", "-m", String(streams), "-d", join(dir, "get.bin"), "--log-file", join(dir, "log"), "-H", "content-type: application/grpc", "-H", "te: trailers", `${url}/hyperfleet.v1.ClusterService/GetCluster`];
    const { stdout } = await run("h2load", args, { timeout: (seconds + 30) * 1000 });
    // Log lines: start time (µs), HTTP status, elapsed (µs).
    // Streams still open when the duration ends are logged without a status (h2load counts them as failed).
    const rows = readFileSync(join(dir, "log"), "utf8").split("\n").filter(Boolean).map((l) => l.split("\t")).filter((r) => Number(r[1]) > 0);
    const latencies = rows.filter((r) => r[1] === "200").map((r) => Number(r[2]) / 1000).sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
    // HTTP-level failures only: h2load cannot read grpc-status (the calls above would count those).
    const failed = rows.filter((r) => r[1] !== "200").length;
    return { streams, ops: latencies.length, seconds, perSecond: Number(/([\d.]+) req\/s/.exec(stdout)?.[1]), p50: pct(50), p99: pct(99), errors: failed };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      console.log("(h2load not installed: apt-get install nghttp2-client for the API-only GetCluster row)");
      return undefined;
    }
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
