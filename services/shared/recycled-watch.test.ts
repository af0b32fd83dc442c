import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import v8 from "node:v8";
import vm from "node:vm";
import { jest } from "@jest/globals";
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ClusterService, WatchClustersResponseSchema, type WatchClustersResponse } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { WatchEventType } from "../../gen/hyperfleet/v1/watch_pb.js";
import { createApiClient } from "./api-client.js";
import { recycledWatch } from "./recycled-watch.js";

/** A change feed of `rounds` rounds of `perRound` messages: each carries the round's starting token, the last one the next. */
function* feed(from: string, rounds: number, perRound: number, payload = ""): Generator<WatchClustersResponse> {
  for (let k = from ? Number(from.slice(1)) : 0; k < rounds; k++) {
    for (let i = 0; i < perRound; i++) {
      const resumeToken = i === perRound - 1 ? `r${k + 1}` : from && k === Number(from.slice(1)) ? from : `r${k}`;
      yield create(WatchClustersResponseSchema, { type: WatchEventType.CHANGED, resumeToken, cluster: { id: `c${k}-${i}`, labels: payload ? { blob: payload } : {} } });
    }
  }
}

test("a recycled watch delivers every message once, in order, reopening only where a token advanced", async () => {
  const opened: string[] = [];
  const open = async function* (token: string) {
    opened.push(token);
    yield* feed(token, 10, 7);
  };
  const ids: string[] = [];
  for await (const m of recycledWatch(open, "", 20)) ids.push(m.cluster!.id);
  expect(ids).toEqual([...feed("", 10, 7)].map((m) => m.cluster!.id));
  // 20 messages reach the end of round 2 (21 messages), and so on: never mid-round.
  expect(opened).toEqual(["", "r3", "r6", "r9"]);
});

test("a recycled watch resumes from the token it was given, and ends when a call ends by itself", async () => {
  const open = async function* (token: string) {
    yield* feed(token, 3, 2);
  };
  const seen: string[] = [];
  for await (const m of recycledWatch(open, "r1", 100)) seen.push(m.cluster!.id);
  expect(seen).toEqual(["c1-0", "c1-1", "c2-0", "c2-1"]);
});

test("a caller that stops reading ends the call", async () => {
  let closed = false;
  const open = async function* (token: string) {
    try {
      yield* feed(token, 100, 5);
    } finally {
      closed = true;
    }
  };
  for await (const m of recycledWatch(open, "", 1000)) if (m.cluster!.id === "c1-2") break;
  expect(closed).toBe(true);
});

describe("over the real client (connect-node, HTTP/2)", () => {
  const payload = "x".repeat(4_000);
  let server: http2.Http2Server;
  let url: string;
  beforeAll(async () => {
    // connect-node logs each stream its client cancelled (the recycling does that on purpose).
    jest.spyOn(console, "error").mockImplementation(() => undefined);
    const routes = (router: ConnectRouter) =>
      router.service(ClusterService, {
        async *watchClusters(req) {
          yield* feed(req.resumeToken, 240, 50, payload);
        },
      });
    server = http2.createServer(connectNodeAdapter({ routes }));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    jest.restoreAllMocks();
  });

  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const heapMb = () => {
    gc();
    return process.memoryUsage().heapUsed / 1e6;
  };

  /** Heap growth (MB) between the 1,000th and the 11,000th message of one watch, read as the Sentinel reads it. */
  async function growth(recycleAfter: number): Promise<number> {
    const api = createApiClient(url, { timeoutMs: 0 });
    const ac = new AbortController();
    const open = (resumeToken: string) => api.clusters.watchClusters({ resumeToken }, { signal: ac.signal, timeoutMs: 0 });
    let n = 0;
    let before = 0;
    try {
      for await (const m of recycledWatch(open, "", recycleAfter)) {
        expect(m.cluster?.labels.blob).toHaveLength(4_000);
        n++;
        if (n === 1_000) before = heapMb();
        if (n === 11_000) return heapMb() - before;
      }
      throw new Error(`the watch ended after ${n} messages`);
    } finally {
      ac.abort();
    }
  }

  test("a long watch holds about one call's worth of messages, not all it has read", async () => {
    // 10,000 messages of ~4 KB each: ~40 MB if they were all held.
    expect(await growth(1_000)).toBeLessThan(15);
  });

  test("connect-es still retains every message of a call (when this fails, recycledWatch can go)", async () => {
    expect(await growth(Number.POSITIVE_INFINITY)).toBeGreaterThan(25);
  });
});
