/**
 * The reproduced attacks made of many requests or connections at once: rows 4 (stalled connections)
 * and 6 (5,000 concurrent reports for one cluster; 12 concurrent 180-term filters), during which
 * the legitimate client must keep being served.
 */
import { toBinary } from "@bufbuild/protobuf";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { ReportStatusRequestSchema } from "../../gen/hyperfleet/v1/status_pb.js";
import { reportRequest } from "../support/reports.js";
import type { AttackRow } from "./attack-row.js";
import type { HostileStack } from "./hostile-stack.js";
import { classify, RETRYABLE } from "./outcome.js";
import { GRPC, rpcRequest } from "./rpc-request.js";
import { openStalls } from "./stalls.js";
import { createWire, envelope, protocolHeaders } from "./wire.js";

/** How long the server may take to close every stalled connection (its timeouts, set short by SERVER_TIMEOUT_ENV, plus margin). */
const STALL_DEADLINE_MS = Number(process.env.HOSTILE_STALL_DEADLINE_MS ?? 20_000);
const REPORT_PATH = "/hyperfleet.v1.StatusService/ReportStatus";
/** A genuine report's deadline: answered within it (stored, or refused as retryable quickly), never DeadlineExceeded. */
const GENUINE_DEADLINE_MS = 5000;
const RETRYABLE_QUICKLY_MS = 1000;

/** 4. 2 HTTP/2 connections × 200 stalled streams, idle HTTP/2 connections, half-sent HTTP/1.1 requests, silent sockets. */
export async function stalledConnections(h: HostileStack, row: AttackRow): Promise<void> {
  const stalls = await openStalls(h.api.url);
  try {
    const summary = await stalls.waitAllClosed(STALL_DEADLINE_MS);
    for (const s of summary) {
      for (let i = 0; i < s.closed; i++) row.record("closed_by_server");
      for (let i = s.closed; i < s.opened; i++) row.record("still_open");
      row.check(s.closed === s.opened, `${s.kind}: ${s.opened - s.closed} of ${s.opened} still open after ${STALL_DEADLINE_MS / 1000} s`);
      row.note(`${s.kind}: ${s.closed}/${s.opened} closed by the server (slowest after ${(s.maxCloseMs / 1000).toFixed(1)} s)${s.answered ? `, answered first: ${s.answers}` : ""}`);
    }
  } finally {
    stalls.destroy();
  }
}

/** 6a. 5,000 concurrent reports for one cluster; meanwhile another cluster's genuine report must be answered in time. */
export async function reportFlood(h: HostileStack, row: AttackRow): Promise<void> {
  const [a, b] = await Promise.all([h.clusters.createCluster({ name: "flood-a", spec: {} }), h.clusters.createCluster({ name: "flood-b", spec: {} })]);
  const from = Date.now();
  const adapters = ["validation", "dns", "placement"];
  const start = Date.now() - 60_000;
  const frames = Array.from({ length: 5000 }, (_, i) =>
    envelope(toBinary(ReportStatusRequestSchema, reportRequest({ resourceId: a.id, adapter: adapters[i % 3], generation: 1, at: new Date(start + i), applied: "True", available: "False" }))),
  );
  const headers = protocolHeaders("grpc");
  const floodWire = createWire(h.api.url, { sessions: 10 });
  const genuineWire = createWire(h.api.url, { sessions: 1 });
  const floodCodes = new Map<string, number>();
  let floodDone = false;
  try {
    const flood = Promise.all(
      frames.map(async (body) => {
        const code = classify("grpc", await floodWire.send({ http: "h2", method: "POST", path: REPORT_PATH, headers, body, timeoutMs: 30_000 }));
        row.record(code);
        floodCodes.set(code, (floodCodes.get(code) ?? 0) + 1);
      }),
    ).finally(() => (floodDone = true));
    const genuine: { code: string; ms: number }[] = [];
    const sendGenuine = async () => {
      const body = envelope(toBinary(ReportStatusRequestSchema, reportRequest({ resourceId: b.id, adapter: "dns", generation: 1, at: new Date(), applied: "True", available: "True" })));
      const res = await genuineWire.send({ http: "h2", method: "POST", path: REPORT_PATH, headers: { ...headers, "grpc-timeout": `${GENUINE_DEADLINE_MS}m` }, body, timeoutMs: GENUINE_DEADLINE_MS + 5000 });
      const code = classify("grpc", res);
      row.record(code);
      genuine.push({ code, ms: res.ms });
      return { code, ms: res.ms };
    };
    do await sendGenuine();
    while (!floodDone && genuine.length < 100);
    await flood;
    for (const g of genuine) {
      const inTime = g.code === "ok" ? g.ms < GENUINE_DEADLINE_MS : RETRYABLE.has(g.code) && g.ms < RETRYABLE_QUICKLY_MS;
      row.check(inTime, `a genuine report for another cluster during the flood: ${g.code} after ${g.ms > GENUINE_DEADLINE_MS ? "more than 5 s" : g.code === "ok" ? "in time" : "more than 1 s"} (want stored within 5 s, or a retryable error within 1 s)`);
    }
    const after = await sendGenuine();
    row.check(after.code === "ok", `the genuine report after the flood: ${after.code}`);
    row.note(`legitimate client during the flood: ${legitText(h, from)}`);
    row.note(`flood: ${[...floodCodes].map(([c, n]) => `${c}:${n}`).join(" ")}; genuine reports during it: ${genuine.length}, slowest ${Math.max(...genuine.map((g) => g.ms)).toFixed(0)} ms, codes ${[...new Set(genuine.map((g) => g.code))].join(",")}`);
    for (const code of floodCodes.keys()) row.check(code === "ok" || RETRYABLE.has(code), `flood reports answered ${code} (want stored or a retryable refusal)`);
  } finally {
    floodWire.close();
    genuineWire.close();
  }
}

/** 6b. 12 concurrent ListClusters with 180-term filters, repeated for a few seconds, over the 5,000-cluster fleet. */
export async function heavyFilters(h: HostileStack, row: AttackRow): Promise<void> {
  const filter = Array.from({ length: 180 }, (_, i) => `labels.a${i} != 'v'`).join(" and ");
  const from = Date.now();
  const until = from + 3000;
  const codes = new Map<string, number>();
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      do {
        const res = await h.wire.send(rpcRequest(GRPC, ClusterService.method.listClusters, { init: { filter, pageSize: 100 } }, { timeoutMs: 30_000, keepBytes: 1024 }));
        const code = classify("grpc", res);
        row.record(code);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      } while (Date.now() < until);
    }),
  );
  row.note(`180-term filters (${filter.length} characters): ${[...codes].map(([c, n]) => `${c}:${n}`).join(" ")}; legitimate client meanwhile: ${legitText(h, from)}`);
  for (const code of codes.keys()) row.check(code === "ok" || code === "invalid_argument" || RETRYABLE.has(code), `a 180-term filter answered ${code}`);
}

function legitText(h: HostileStack, from: number): string {
  const l = h.legitStats(from, Date.now());
  return `p99 ${l.p99Ms.toFixed(1)} ms over ${l.calls} calls${l.failures ? `, ${l.failures} failed` : ""}`;
}
