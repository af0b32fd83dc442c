/**
 * The reproduced attacks that are one hostile request (or row) each: rows 1, 2, 3, 7 and 8 of the
 * table. Each sends its input over several protocols and checks the answer; the row around it
 * (hostile-stack.ts) checks memory, crashes, Internal answers and health.
 */
import { ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { fromBinary, fromJson, type DescMethod, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { NodePoolService } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ReportOutcome, ReportStatusResponseSchema, StatusService, type ReportStatusResponse } from "../../gen/hyperfleet/v1/status_pb.js";
import type { SeededRandom } from "../support/seeded-random.js";
import { reportRequest } from "../support/reports.js";
import type { AttackRow } from "./attack-row.js";
import type { HostileStack } from "./hostile-stack.js";
import { classify, grpcPayload, violationsListed, type RawResponse } from "./outcome.js";
import { channelName, CONNECT_JSON, CONNECT_JSON_H1, CONNECT_PROTO, GRPC, rpcRequest, type Channel } from "./rpc-request.js";

/** An InvalidArgument lists at most this many violations: 20, then one "and N more" (services/api/limits.ts MAX_VIOLATIONS). */
export const MAX_LISTED_VIOLATIONS = 21;
/** How long the Sentinel may take to publish for a new cluster (it polls every 200 ms). */
const SENTINEL_EVENT_TIMEOUT_MS = 20_000;

const createCluster = ClusterService.method.createCluster;
const listClusters = ClusterService.method.listClusters;
const getCluster = ClusterService.method.getCluster;
const updateCluster = ClusterService.method.updateCluster;
const reportStatus = StatusService.method.reportStatus;

/** Sends, counts the outcome in the row, and returns it with the raw answer. */
async function send(h: HostileStack, row: AttackRow, channel: Channel, method: DescMethod, message: Parameters<typeof rpcRequest>[2], extra: Parameters<typeof rpcRequest>[3] = {}) {
  const res = await h.wire.send(rpcRequest(channel, method, message, { timeoutMs: 30_000, ...extra }));
  const code = classify(channel[0], res);
  row.record(code);
  return { code, res };
}

/**
 * InvalidArgument listing at most MAX_LISTED_VIOLATIONS; with `tooLargeIsFine`, ResourceExhausted
 * (the server's read limit refusing the request before decoding it) passes too, and is noted.
 */
function expectInvalidArgument(row: AttackRow, what: string, channel: Channel, code: string, res: RawResponse, tooLargeIsFine = false): void {
  const where = `${what} over ${channelName(channel)}`;
  if (code === "invalid_argument") {
    const listed = violationsListed(channel[0], res);
    // Zero is fine: a body that cannot be decoded is refused before any field is looked at.
    row.check(listed <= MAX_LISTED_VIOLATIONS, `${where}: InvalidArgument listing ${listed} violations (want at most ${MAX_LISTED_VIOLATIONS})`);
  } else if (tooLargeIsFine && (code === "resource_exhausted" || code === "rst_enhance_your_calm")) {
    // A gRPC client reads RST_STREAM ENHANCE_YOUR_CALM (the connection's memory bound) as RESOURCE_EXHAUSTED too.
    row.note(`${where}: ${code === "resource_exhausted" ? "ResourceExhausted (refused by size before decoding)" : "RST_STREAM ENHANCE_YOUR_CALM (the connection's memory bound)"} rather than InvalidArgument`);
  } else {
    row.check(false, `${where}: ${code}${res.rstCode ? ` (RST_STREAM ${res.rstCode})` : ""} instead of InvalidArgument`);
  }
}

/** A normal cluster created now gets its reconcile event: the Sentinel's polls go on past whatever is in the table. */
async function sentinelPublishesForNewCluster(h: HostileStack, row: AttackRow, name: string): Promise<void> {
  const c = await h.clusters.createCluster({ name, spec: { region: "us-east-1" } });
  const published = await h.eventFor(c.id, SENTINEL_EVENT_TIMEOUT_MS);
  row.check(published, `the Sentinel published no event within ${SENTINEL_EVENT_TIMEOUT_MS / 1000} s for a normal cluster created afterwards`);
  const status = await h.sentinelClient.getStatus({}).catch(() => undefined);
  if (status) row.note(`sentinel: ${status.pollsTotal} polls, ${status.eventsPublishedTotal} events, ${status.errorsTotal} errors${status.lastError ? `; last error: ${status.lastError.slice(0, 160)}` : ""}`);
}

export function errorCode(err: unknown): string {
  return codeToString(ConnectError.from(err).code);
}

/** 1. A 0.8 MB CreateCluster with 40,000 invalid label keys. */
export async function invalidLabelKeys(h: HostileStack, row: AttackRow): Promise<void> {
  const labels = Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`-bad.key.${i}`, "v"]));
  const init = { name: "hostile-labels", labels, spec: {} };
  row.note(`request body ${(rpcRequest(GRPC, createCluster, { init }).body.length / 1e6).toFixed(2)} MB (protobuf), ${(rpcRequest(CONNECT_JSON, createCluster, { init }).body.length / 1e6).toFixed(2)} MB (JSON)`);
  for (const channel of [GRPC, CONNECT_JSON, CONNECT_JSON_H1, GRPC, CONNECT_JSON]) {
    const { code, res } = await send(h, row, channel, createCluster, { init }, { keepBytes: 16 << 20 });
    expectInvalidArgument(row, "CreateCluster with 40,000 bad label keys", channel, code, res, true);
  }
}

/** A spec of about `bytes` of JSON. */
function bigSpec(bytes: number): JsonObject {
  return { chunks: Array.from({ length: Math.ceil(bytes / 1003) }, (_, i) => String(i).padEnd(1000, "x")) };
}

/** 2. 2.8 MB specs: refused by the API; as legacy rows, ListClusters and the Sentinel's polls still work. */
export async function hugeSpecs(h: HostileStack, row: AttackRow): Promise<void> {
  const spec = bigSpec(2_800_000);
  try {
    for (let i = 0; i < 20; i += 5) {
      await Promise.all(
        [GRPC, GRPC, CONNECT_JSON, GRPC, CONNECT_JSON_H1].map(async (channel, j) => {
          const { code, res } = await send(h, row, channel, createCluster, { init: { name: `big-${i + j}`, spec } });
          expectInvalidArgument(row, "CreateCluster with a 2.8 MB spec", channel, code, res, true);
        }),
      );
    }
    // Rows written before the limit existed (or by hand): 20 specs of 2.8 MB each.
    await h.db.query(
      `insert into clusters (id, name, labels, spec, generation, phase, observed_generation, last_transition_time, last_updated_time, status_conditions, created_time, updated_time, created_by, updated_by)
       select gen_random_uuid(), 'legacy-big-' || i, '{}', jsonb_build_object('chunks', (select jsonb_agg(md5(g::text || i::text)) from generate_series(1, 82000) g)),
              1, 'NotReady', 0, now(), now(), '[]', now(), now(), 'legacy', 'legacy'
       from generate_series(1, 20) i`,
    );
    for (const channel of [GRPC, CONNECT_PROTO, CONNECT_JSON, CONNECT_JSON_H1]) {
      const { code } = await send(h, row, channel, listClusters, { init: { pageSize: 1000 } }, { keepBytes: 64 * 1024 });
      row.check(code === "ok", `ListClusters(page_size 1000) over ${channelName(channel)} with 20 legacy 2.8 MB specs: ${code}`);
    }
    await walkAllPages(h, row, 5000 + 20);
    await sentinelPublishesForNewCluster(h, row, "after-big-specs");
  } finally {
    await h.db.query("delete from clusters where created_by = 'legacy' or name like 'big-%'");
  }
}

/** Every page of ListClusters(page_size 1000) through a real gRPC client, which must see at least `atLeast` clusters. */
async function walkAllPages(h: HostileStack, row: AttackRow, atLeast: number): Promise<void> {
  let token = "";
  let seen = 0;
  let pages = 0;
  try {
    do {
      const page = await h.clusters.listClusters({ pageSize: 1000, pageToken: token }, { timeoutMs: 30_000 });
      row.record("ok");
      seen += page.clusters.length;
      token = page.nextPageToken;
      pages++;
    } while (token !== "" && pages < 500);
    row.check(seen >= atLeast, `walking ListClusters saw ${seen} clusters, want at least ${atLeast}`);
    row.note(`ListClusters(page_size 1000): ${seen} clusters in ${pages} pages`);
  } catch (err) {
    row.record(errorCode(err));
    row.check(false, `walking ListClusters pages failed after ${pages} pages: ${errorCode(err)} ${ConnectError.from(err).rawMessage.slice(0, 160)}`);
  }
}

/** {"a": {"a": ... {"leaf": 1}}}, `depth` objects deep. */
export function nestedSpec(depth: number): JsonObject {
  let v: JsonObject = { leaf: 1 };
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

/** 3. A spec 60 levels deep: refused by the API; as a legacy row, it stops neither reads nor the Sentinel. */
export async function deepSpec(h: HostileStack, row: AttackRow): Promise<void> {
  const spec = nestedSpec(60);
  try {
    for (const channel of [CONNECT_JSON, CONNECT_JSON_H1, GRPC, CONNECT_PROTO]) {
      const { code, res } = await send(h, row, channel, createCluster, { init: { name: "hostile-deep", spec } });
      expectInvalidArgument(row, "CreateCluster with a 60-deep spec", channel, code, res);
    }
    for (const channel of [CONNECT_JSON, GRPC]) {
      const { code, res } = await send(h, row, channel, updateCluster, { init: { id: h.targets.clusterIds[1], spec } });
      expectInvalidArgument(row, "UpdateCluster with a 60-deep spec", channel, code, res);
    }
    const legacy = await h.db.query<{ id: string }>(
      `insert into clusters (id, name, labels, spec, generation, phase, observed_generation, last_transition_time, last_updated_time, status_conditions, created_time, updated_time, created_by, updated_by)
       values (gen_random_uuid(), 'legacy-deep', '{}', $1::jsonb, 1, 'NotReady', 0, now(), now(), '[]', now(), now(), 'legacy', 'legacy') returning id`,
      [JSON.stringify(spec)],
    );
    for (const channel of [GRPC, CONNECT_JSON]) {
      const list = await send(h, row, channel, listClusters, { init: { pageSize: 1000 } }, { keepBytes: 64 * 1024 });
      row.check(list.code === "ok", `ListClusters over ${channelName(channel)} with a 60-deep legacy spec: ${list.code}`);
      const get = await send(h, row, channel, getCluster, { init: { id: legacy.rows[0].id } });
      row.check(get.code === "ok", `GetCluster of the 60-deep legacy row over ${channelName(channel)}: ${get.code}`);
    }
    await sentinelPublishesForNewCluster(h, row, "after-deep-spec");
  } finally {
    await h.db.query("delete from clusters where created_by = 'legacy'");
  }
}

/** 7. A report 290 s in the future is stored at the server's clock, so the next genuine report is not stale. */
export async function futureReport(h: HostileStack, row: AttackRow): Promise<void> {
  const c = await h.clusters.createCluster({ name: "clock-skew", spec: {} });
  for (const [adapter, channel] of [["dns", GRPC], ["placement", CONNECT_JSON_H1], ["validation", CONNECT_PROTO]] as const) {
    const where = `${adapter} over ${channelName(channel)}`;
    const ahead = reportRequest({ resourceId: c.id, adapter, generation: 1, at: new Date(Date.now() + 290_000), applied: "True", available: "False" });
    const first = await send(h, row, channel, reportStatus, { init: ahead });
    row.check(first.code === "ok", `${where}: the report 290 s ahead was answered ${first.code} (it is within the 5 minutes allowed)`);
    const stored = (await h.statuses.listStatuses({ resourceId: c.id })).statuses.find((s) => s.adapter === adapter);
    const aheadMs = stored?.observedTime ? timestampDate(stored.observedTime).getTime() - Date.now() : NaN;
    row.check(aheadMs < 10_000, `${where}: the stored observed_time is ${(aheadMs / 1000).toFixed(0)} s ahead of the clock (want the server's clock)`);
    const genuine = reportRequest({ resourceId: c.id, adapter, generation: 1, at: new Date(), applied: "True", available: "True" });
    const second = await send(h, row, channel, reportStatus, { init: genuine });
    const answer = reportResponse(channel, second.res);
    row.check(second.code === "ok" && answer?.stored === true, `${where}: the next genuine report was ${second.code === "ok" ? ReportOutcome[answer?.outcome ?? 0] : second.code}, not stored`);
  }
}

function reportResponse(channel: Channel, res: RawResponse): ReportStatusResponse | undefined {
  try {
    if (channel[0] === "grpc") return fromBinary(ReportStatusResponseSchema, grpcPayload(res) ?? new Uint8Array());
    if (channel[0] === "connect-proto") return fromBinary(ReportStatusResponseSchema, res.body);
    return fromJson(ReportStatusResponseSchema, JSON.parse(res.body.toString("utf8")) as JsonValue);
  } catch {
    return undefined;
  }
}

/** Message bytes no decoder accepts for `schema`: fixed cases, then seeded random bytes checked to fail. */
function undecodable(random: SeededRandom, method: DescMethod): Uint8Array[] {
  const fixed = [Buffer.from([0x0f]), Buffer.from([0x08]), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.from([0x1b]), Buffer.from([0x0a, 0x05, 0x61])];
  const randomOnes: Uint8Array[] = [];
  while (randomOnes.length < 3) {
    const bytes = Buffer.from(Array.from({ length: random.int(8, 256) }, () => random.int(0, 256)));
    try {
      fromBinary(method.input, bytes);
    } catch {
      randomOnes.push(bytes);
    }
  }
  return [...fixed, ...randomOnes].filter((b) => {
    try {
      fromBinary(method.input, b);
      return false;
    } catch {
      return true;
    }
  });
}

/** 8. A NUL in a filter, `constructor = 1`, undecodable protobuf, more than 150 violations: each InvalidArgument. */
export async function malformedBasics(h: HostileStack, row: AttackRow, random: SeededRandom): Promise<void> {
  const all = [GRPC, CONNECT_PROTO, CONNECT_JSON, CONNECT_JSON_H1];
  for (const filter of ["name = 'a\u0000b'", "labels.env = '\u0000'", "\u0000"]) {
    for (const channel of all) {
      const { code, res } = await send(h, row, channel, listClusters, { init: { filter } });
      expectInvalidArgument(row, `ListClusters filter ${JSON.stringify(filter)}`, channel, code, res);
    }
    const { code, res } = await send(h, row, GRPC, NodePoolService.method.listNodePools, { init: { filter } });
    expectInvalidArgument(row, `ListNodePools filter ${JSON.stringify(filter)}`, GRPC, code, res);
  }
  for (const filter of ["constructor = 1", "__proto__ = 1", "toString = 'x'", "hasOwnProperty = 1", "valueOf = 1"]) {
    for (const channel of all) {
      const { code, res } = await send(h, row, channel, listClusters, { init: { filter } });
      expectInvalidArgument(row, `ListClusters filter ${JSON.stringify(filter)}`, channel, code, res);
    }
  }
  for (const method of [createCluster, getCluster, listClusters, reportStatus, NodePoolService.method.createNodePool]) {
    for (const binary of undecodable(random, method)) {
      for (const channel of [GRPC, CONNECT_PROTO]) {
        const { code, res } = await send(h, row, channel, method, { binary });
        expectInvalidArgument(row, `${method.name} with undecodable protobuf`, channel, code, res);
      }
    }
  }
  // A streaming method too: Health/Watch is served on every port.
  for (const binary of undecodable(random, Health.method.watch)) {
    const { code, res } = await send(h, row, GRPC, Health.method.watch, { binary }, { timeoutMs: 10_000 });
    expectInvalidArgument(row, "Health/Watch with undecodable protobuf", GRPC, code, res);
  }
  const labels = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`-bad key ${i}`, "!"]));
  for (const channel of all) {
    const { code, res } = await send(h, row, channel, createCluster, { init: { name: "many-violations", labels, spec: {} } });
    expectInvalidArgument(row, "CreateCluster with 200 violations", channel, code, res);
  }
  const conditions = Array.from({ length: 200 }, () => ({ type: "", status: 99, reason: "", message: "" }));
  for (const channel of [GRPC, CONNECT_JSON]) {
    const { code, res } = await send(h, row, channel, reportStatus, { init: { resourceId: h.targets.clusterIds[2], adapter: "dns", observedGeneration: 1n, conditions } });
    expectInvalidArgument(row, "ReportStatus with 200 bad conditions", channel, code, res);
  }
}

