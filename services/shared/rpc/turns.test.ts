/** One HTTP/2 connection's burst of unary calls runs a bounded number at a time; other connections are not held up. */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdapterService } from "../../../gen/hyperfleet/v1/adapter_pb.js";
import { createRpcServer, type RpcServer } from "./serve.js";

describe.each([true, false])("fastPath %s", (fastPath) => {
  let server: RpcServer;
  let url = "";
  let running = 0;
  let most = 0;
  const release: (() => void)[] = [];
  beforeAll(async () => {
    server = createRpcServer({
      fastPath,
      // maxInFlight 16: contention begins at 4 running calls (a quarter), so turns are taken at once.
      limits: { maxCallsPerConnection: 4, maxTurnWaitMs: 60_000, maxInFlight: 16 },
      services: [AdapterService],
      routes: (router) =>
        router.service(AdapterService, {
          // Held until the test lets it go, so the calls overlap for certain.
          async dryRun() {
            most = Math.max(most, ++running);
            await new Promise<void>((resolve) => release.push(resolve));
            running--;
            return { outcome: "done" };
          },
          getStatus: () => ({ adapter: "other connection" }),
        }),
    });
    url = `http://127.0.0.1:${await server.listen(0, "127.0.0.1")}`;
  });
  afterAll(() => server.close(100));

  test("20 calls on one connection: 4 run at a time, all finish; another connection is served meanwhile", async () => {
    const burst = createClient(AdapterService, createGrpcTransport({ baseUrl: url }));
    const calls = Array.from({ length: 20 }, () => burst.dryRun({}));
    const done: Promise<unknown>[] = [];
    // Let the calls through 4 at a time as they arrive; meanwhile a second connection's call is answered.
    const other = await createClient(AdapterService, createGrpcTransport({ baseUrl: url })).getStatus({});
    expect(other.adapter).toBe("other connection");
    while (done.length < 20) {
      await new Promise((r) => setImmediate(r));
      const next = release.shift();
      if (next) {
        next();
        done.push(Promise.resolve());
      }
    }
    expect((await Promise.all(calls)).map((r) => r.outcome)).toEqual(Array(20).fill("done"));
    expect(most).toBe(4);
  });
});

test("a call that waits longer than maxTurnWaitMs for its turn is shed Unavailable; the running ones finish", async () => {
  const release: (() => void)[] = [];
  const server = createRpcServer({
    limits: { maxCallsPerConnection: 1, maxTurnWaitMs: 200, maxInFlight: 4 },
    services: [AdapterService],
    routes: (router) =>
      router.service(AdapterService, {
        dryRun: () => new Promise((resolve) => release.push(() => resolve({ outcome: "done" }))),
        getStatus: () => ({ adapter: "x" }),
      }),
  });
  const url = `http://127.0.0.1:${await server.listen(0, "127.0.0.1")}`;
  try {
    const client = createClient(AdapterService, createGrpcTransport({ baseUrl: url }));
    const first = client.dryRun({});
    const second = client.dryRun({}).then(
      () => "answered",
      (e: unknown) => ConnectError.from(e),
    );
    const err = await second;
    expect(err instanceof ConnectError && [err.code, err.rawMessage]).toEqual([Code.Unavailable, expect.stringContaining("for its turn")]);
    while (release.length === 0) await new Promise((r) => setImmediate(r));
    release.shift()!();
    expect((await first).outcome).toBe("done");
  } finally {
    await server.close(100);
  }
});

test("without contention a connection may run more than its share: 20 calls run at once", async () => {
  const release: (() => void)[] = [];
  const server = createRpcServer({
    limits: { maxCallsPerConnection: 4, maxInFlight: 256 },
    services: [AdapterService],
    routes: (router) =>
      router.service(AdapterService, {
        dryRun: () => new Promise((resolve) => release.push(() => resolve({ outcome: "done" }))),
        getStatus: () => ({ adapter: "x" }),
      }),
  });
  const url = `http://127.0.0.1:${await server.listen(0, "127.0.0.1")}`;
  try {
    const client = createClient(AdapterService, createGrpcTransport({ baseUrl: url }));
    const calls = Array.from({ length: 20 }, () => client.dryRun({}));
    while (release.length < 20) await new Promise((r) => setTimeout(r, 5));
    for (const r of release) r();
    expect((await Promise.all(calls)).length).toBe(20);
  } finally {
    await server.close(100);
  }
});
