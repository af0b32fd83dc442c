import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { WatchClustersRequest, WatchClustersResponse } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { Phase, ResourceView } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { reportRequest } from "../../test/support/reports.js";
import { WatchEventType } from "../../gen/hyperfleet/v1/watch_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { WatchClustersRequestSchema } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { startApi, type TestApi } from "../../test/support/start-api.js";
import { eventually } from "../../test/support/brokers.js";
import { createTempDatabase, type TempDatabase } from "../../test/support/temp-database.js";
import { encodeWatchToken } from "./core/watch-token.js";

let api: TestApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

let seq = 0;
const uniqueName = (base = "w") => `${base}-${process.pid % 1000}-${++seq}`;

/** A watch stream read in the background: every message kept, conditions waited for. */
function watch(target: TestApi, req: MessageInitShape<typeof WatchClustersRequestSchema>) {
  const abort = new AbortController();
  const events: WatchClustersResponse[] = [];
  let failure: unknown;
  let wake = () => undefined as void;
  const done = (async () => {
    try {
      for await (const e of target.clusters.watchClusters(req as WatchClustersRequest, { signal: abort.signal })) {
        events.push(e);
        wake();
      }
    } catch (err) {
      if (!abort.signal.aborted) failure = err;
      wake();
    }
  })();
  return {
    events,
    /** Resolves once `pred` holds of the messages so far (checked on each new one), failing after `ms`. */
    async until(pred: (events: WatchClustersResponse[]) => boolean, ms = 10_000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!pred(events)) {
        if (failure) throw failure;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`condition not met in ${ms} ms; got ${events.map(show).join(", ")}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    },
    failure: async () => {
      await done;
      return failure;
    },
    async close() {
      abort.abort();
      await done;
    },
  };
}

const show = (e: WatchClustersResponse) => `${WatchEventType[e.type]}${e.cluster ? `(${e.cluster.name || e.cluster.id.slice(-6)}@${e.cluster.generation})` : ""}`;
const changed = (events: WatchClustersResponse[], id: string) => events.filter((e) => e.type === WatchEventType.CHANGED && e.cluster?.id === id);
const removed = (events: WatchClustersResponse[], id: string) => events.some((e) => e.type === WatchEventType.REMOVED && e.cluster?.id === id);
const synced = (events: WatchClustersResponse[]) => events.filter((e) => e.type === WatchEventType.SYNCED);
const lastToken = (events: WatchClustersResponse[]) => [...events].reverse().find((e) => e.resumeToken !== "")!.resumeToken;

test("send_initial lists the current clusters, then SYNCED; then each create, update and deletion arrives as it happens", async () => {
  const before = await api.clusters.createCluster({ name: uniqueName(), spec: { a: 1 } });
  const w = watch(api, { sendInitial: true });
  try {
    await w.until((es) => synced(es).length === 1);
    const syncedAt = w.events.findIndex((e) => e.type === WatchEventType.SYNCED);
    expect(changed(w.events.slice(0, syncedAt), before.id)).toHaveLength(1);
    expect(w.events.slice(0, syncedAt).every((e) => e.resumeToken === "")).toBe(true);
    expect(w.events[syncedAt].resumeToken).not.toBe("");

    const c = await api.clusters.createCluster({ name: uniqueName(), spec: { a: 1 } });
    await w.until((es) => changed(es, c.id).length >= 1);
    expect(changed(w.events, c.id)[0].cluster?.spec).toEqual({ a: 1 });

    await api.clusters.updateCluster({ id: c.id, spec: { a: 2 } });
    await w.until((es) => changed(es, c.id).some((e) => e.cluster?.generation === 2n));

    await api.clusters.deleteCluster({ id: c.id });
    await w.until((es) => removed(es, c.id));
    expect(w.events.every((e) => e.type !== WatchEventType.CHANGED || e.cluster?.deletedTime === undefined)).toBe(true);
  } finally {
    await w.close();
  }
});

test("a status report is a change: its new status arrives (phase, available_adapters), down to Ready", async () => {
  const c = await api.clusters.createCluster({ name: uniqueName(), spec: {} });
  const w = watch(api, { view: ResourceView.STATUS });
  try {
    await w.until((es) => synced(es).length === 1);
    for (const [i, adapter] of ["validation", "dns", "placement"].entries()) {
      await api.statuses.reportStatus(reportRequest({ resourceId: c.id, adapter, generation: 1, at: new Date(), applied: "True", available: "True" }));
      await w.until((es) => changed(es, c.id).some((e) => e.cluster?.status?.availableAdapters === i + 1));
    }
    await w.until((es) => changed(es, c.id).some((e) => e.cluster?.status?.phase === Phase.READY));
  } finally {
    await w.close();
  }
});

test("show_deleted: a soft-deleted cluster is CHANGED with deleted_time; force-deleted, it is REMOVED; STATUS view has no spec", async () => {
  const c = await api.clusters.createCluster({ name: uniqueName(), labels: { t: "sd" }, spec: { big: "x" } });
  const w = watch(api, { showDeleted: true, view: ResourceView.STATUS });
  try {
    await w.until((es) => synced(es).length === 1);
    await api.clusters.deleteCluster({ id: c.id });
    await w.until((es) => changed(es, c.id).some((e) => e.cluster?.deletedTime !== undefined));
    expect(changed(w.events, c.id)[0].cluster?.spec).toBeUndefined();
    await api.clusters.forceDeleteCluster({ id: c.id, reason: "test" });
    await w.until((es) => removed(es, c.id));
  } finally {
    await w.close();
  }
});

test("a filter: a cluster that stops matching is REMOVED; one that never matched never arrives as CHANGED", async () => {
  const label = `f${++seq}`;
  const w = watch(api, { filter: `labels.team = '${label}'` });
  try {
    await w.until((es) => synced(es).length === 1);
    const inside = await api.clusters.createCluster({ name: uniqueName(), labels: { team: label }, spec: {} });
    const outside = await api.clusters.createCluster({ name: uniqueName(), labels: { team: "other" }, spec: {} });
    await w.until((es) => changed(es, inside.id).length >= 1);
    await api.clusters.updateCluster({ id: inside.id, labels: { team: "moved" } });
    await w.until((es) => removed(es, inside.id));
    expect(changed(w.events, outside.id)).toHaveLength(0);
  } finally {
    await w.close();
  }
});

test("resuming from the last token sends exactly what changed while away, without a listing", async () => {
  const kept = await api.clusters.createCluster({ name: uniqueName(), spec: {} });
  const gone = await api.clusters.createCluster({ name: uniqueName(), spec: {} });
  await api.clusters.deleteCluster({ id: gone.id });
  const first = watch(api, { showDeleted: true });
  await first.until((es) => synced(es).length === 1);
  const token = lastToken(first.events);
  await first.close();

  // While nobody watches: one update, one removal, one create.
  await api.clusters.updateCluster({ id: kept.id, spec: { v: 2 } });
  await api.clusters.forceDeleteCluster({ id: gone.id, reason: "test" });
  const fresh = await api.clusters.createCluster({ name: uniqueName(), spec: {} });

  const again = watch(api, { showDeleted: true, resumeToken: token, sendInitial: true });
  try {
    await again.until((es) => changed(es, kept.id).some((e) => e.cluster?.generation === 2n) && removed(es, gone.id) && changed(es, fresh.id).length > 0);
    // Only changes: nothing from before the token (the other tests' clusters are not listed again).
    const ids = new Set(again.events.map((e) => e.cluster?.id).filter(Boolean));
    expect([...ids].sort()).toEqual([kept.id, gone.id, fresh.id].sort());
  } finally {
    await again.close();
  }
});

test("under concurrent writers the watcher ends with every cluster's latest generation (no change is skipped)", async () => {
  const w = watch(api, {});
  try {
    await w.until((es) => synced(es).length === 1);
    const ids = await Promise.all(Array.from({ length: 40 }, async () => (await api.clusters.createCluster({ name: uniqueName("cc"), spec: {} })).id));
    // Eight writers updating at once: transactions commit in an order unrelated to their ids.
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let round = 0; round < 5; round++) {
          for (const id of ids.filter((_, i) => i % 8 === worker)) await api.clusters.updateCluster({ id, spec: { round } });
        }
      }),
    );
    const latest = new Map<string, bigint>();
    for (const id of ids) latest.set(id, (await api.clusters.getCluster({ id })).generation);
    await w.until((es) => {
      const seen = new Map<string, bigint>();
      for (const e of es) if (e.type === WatchEventType.CHANGED && e.cluster) seen.set(e.cluster.id, e.cluster.generation);
      return ids.every((id) => seen.get(id) === latest.get(id));
    }, 20_000);
    expect(latest.get(ids[0])).toBe(6n);
  } finally {
    await w.close();
  }
});

test.each([
  ["older than the feed keeps (an hour)", { snapshot: "3:3:", issuedMs: Date.now() - 2 * 3600_000 }],
  ["from transactions this database has not reached (restored from a backup)", { snapshot: "900000000000:900000000000:", issuedMs: Date.now() }],
])("a token %s: RESYNC, the full listing, then SYNCED", async (_name, t) => {
  const c = await api.clusters.createCluster({ name: uniqueName(), spec: {} });
  const w = watch(api, { resumeToken: encodeWatchToken({ kind: "clusters", ...t }) });
  try {
    await w.until((es) => synced(es).length === 1);
    expect(w.events[0].type).toBe(WatchEventType.RESYNC);
    expect(changed(w.events, c.id)).toHaveLength(1);
  } finally {
    await w.close();
  }
});

test("bad requests are InvalidArgument naming the field, before anything streams", async () => {
  const fieldOf = async (req: MessageInitShape<typeof WatchClustersRequestSchema>) => {
    const w = watch(api, req);
    const err = ConnectError.from(await w.failure());
    expect(err.code).toBe(Code.InvalidArgument);
    expect(w.events).toHaveLength(0);
    return err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
  };
  expect(await fieldOf({ resumeToken: "not-a-token" })).toEqual(["resume_token"]);
  expect(await fieldOf({ resumeToken: encodeWatchToken({ kind: "nodepools", snapshot: "5:5:", issuedMs: Date.now() }) })).toEqual(["resume_token"]);
  expect(await fieldOf({ resumeToken: "x".repeat(5000) })).toEqual(["resume_token"]);
  // Not a snapshot Postgres would take: refused here, not as an Internal from the database.
  expect(await fieldOf({ resumeToken: encodeWatchToken({ kind: "clusters", snapshot: "4294967296:4294967296:", issuedMs: Date.now() }) })).toEqual(["resume_token"]);
  expect(await fieldOf({ filter: "labels.env = " })).toEqual(["filter"]);
  expect(await fieldOf({ view: ResourceView.FULL })).toEqual(["view"]);
});

describe("two API replicas on one database", () => {
  let temp: TempDatabase;
  let a: TestApi;
  let b: TestApi;
  beforeAll(async () => {
    temp = await createTempDatabase();
    a = await startApi({ databaseUrl: temp.url, listen: true });
    b = await startApi({ databaseUrl: temp.url, listen: true });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await temp?.drop();
  });

  test("each replica's metrics say its LISTEN connection is up", async () => {
    for (const api of [a, b]) await eventually(async () => ((await api.metricsText()).includes("hyperfleet_api_change_listener_up 1") ? true : undefined));
  });

  test("a watcher of one replica hears the other replica's writes at once (LISTEN/NOTIFY)", async () => {
    const w = watch(b, {});
    try {
      await w.until((es) => synced(es).length === 1);
      const c = await a.clusters.createCluster({ name: uniqueName(), spec: {} });
      const sent = Date.now();
      await w.until((es) => changed(es, c.id).length > 0);
      // Well inside the 5 s a watcher waits when no notification comes.
      expect(Date.now() - sent).toBeLessThan(2_000);
    } finally {
      await w.close();
    }
  });
});
