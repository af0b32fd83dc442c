/**
 * The shared server's limits against a real server (createRpcServer, a trivial service) with short
 * timeouts passed as options: what a hostile or broken client can hold (streams, calls, request
 * bytes, connections) is bounded, held resources are taken back within their deadlines, and a
 * legitimate client keeps being served. Timing checks only bound from above, with slack for a loaded
 * machine; nothing asserts a speed.
 */
import http2 from "node:http2";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { AdapterService, DryRunRequestSchema } from "../../../gen/hyperfleet/v1/adapter_pb.js";
import { encodeFrame } from "./grpc-wire.js";
import { createRpcServer, type RpcServerLimits } from "./serve.js";

/** Added to every deadline before a check gives up: the machine may be busy with other suites. */
const SLACK_MS = 4000;
const DRY_RUN = "/hyperfleet.v1.AdapterService/DryRun";
const GET_STATUS = "/hyperfleet.v1.AdapterService/GetStatus";

type Server = ReturnType<typeof createRpcServer>;
const servers: Server[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
});

/** DryRun calls with resource_id "hold" wait here until released or cancelled. */
class Holds {
  count = 0;
  private releases: (() => void)[] = [];
  wait(signal: AbortSignal): Promise<void> {
    this.count++;
    return new Promise<void>((resolve) => {
      const done = () => {
        this.count--;
        resolve();
      };
      this.releases.push(done);
      signal.addEventListener("abort", done, { once: true });
    }).then(() => signal.throwIfAborted());
  }
  release(): void {
    for (const r of this.releases.splice(0)) r();
  }
}

async function start(limits: Partial<RpcServerLimits>, opts: { fastPath?: boolean; refuseHeader?: boolean } = {}) {
  const holds = new Holds();
  const server = createRpcServer({
    fastPath: opts.fastPath,
    limits,
    services: [AdapterService],
    requestGate: (ctx) => {
      if (ctx.requestHeader.get("x-refuse")) throw new ConnectError("refused by the service's gate", Code.PermissionDenied);
    },
    routes: (router) =>
      router.service(AdapterService, {
        getStatus: () => ({ adapter: "ok" }),
        async dryRun(req, ctx) {
          if (req.resourceId === "hold") {
            let released = true;
            await holds.wait(ctx.signal).catch(() => (released = false));
            return { outcome: released ? "released" : "cancelled" };
          }
          if (req.resourceId === "fail") throw new ConnectError("not now", Code.FailedPrecondition);
          if (req.resourceId === "crash") throw new Error("a bug");
          return { outcome: "ok" };
        },
      }),
  });
  servers.push(server);
  const port = await server.listen(0, "127.0.0.1");
  const url = `http://127.0.0.1:${port}`;
  return { server, holds, port, url };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or a failure naming what did not happen (rather than the test's own timeout). */
function within<T>(what: string, p: Promise<T>, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const rejection = async (p: Promise<unknown>) => ConnectError.from(await p.then(() => new Error("no error"), (e: unknown) => e));

/** A gRPC envelope prefix announcing `length` bytes of message. */
function prefix(length: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(length, 1);
  return b;
}

const dryRunFrame = (resourceId: string) => encodeFrame(toBinary(DryRunRequestSchema, create(DryRunRequestSchema, { resourceId })));

interface Raw {
  stream: http2.ClientHttp2Stream;
  /** Response headers and trailers together (gRPC's status may be in either). */
  headers: http2.IncomingHttpHeaders;
  /** Resolves when the stream closed, with its reset code and how long after it was opened. */
  closed: Promise<{ rstCode: number; ms: number }>;
}

/** One raw HTTP/2 request; the body is ended only when `end` is set, so a stalled body is the default. */
function raw(session: http2.ClientHttp2Session, path: string, contentType: string, body: Buffer, opts: { end?: boolean; headers?: Record<string, string> } = {}): Raw {
  const stream = session.request({ ":method": "POST", ":path": path, "content-type": contentType, te: "trailers", ...opts.headers });
  const r: Raw = { stream, headers: {}, closed: Promise.resolve({ rstCode: 0, ms: 0 }) };
  let opened = performance.now();
  // Counted from when the stream reached the wire, not from when it was queued behind others.
  stream.once("ready", () => (opened = performance.now()));
  stream.on("response", (h) => Object.assign(r.headers, h));
  stream.on("trailers", (t) => Object.assign(r.headers, t));
  stream.on("data", () => undefined);
  stream.on("error", () => undefined);
  r.closed = new Promise((resolve) => stream.once("close", () => resolve({ rstCode: stream.rstCode ?? 0, ms: performance.now() - opened })));
  if (opts.end) stream.end(body);
  else stream.write(body);
  return r;
}

/** A client HTTP/2 session that sends everything it is given at once, before it learns the server's settings. */
function eagerSession(url: string): http2.ClientHttp2Session {
  const s = http2.connect(url, { peerMaxConcurrentStreams: 1000, maxSessionMemory: 1024 });
  s.on("error", () => undefined);
  cleanups.push(() => s.destroy());
  return s;
}

/** A raw TCP connection; resolves `closed` with how long after connecting the server closed it. */
function socket(port: number, bytes = ""): { s: net.Socket; data: () => string; closed: Promise<number> } {
  const s = net.connect(port, "127.0.0.1");
  cleanups.push(() => s.destroy());
  let received = "";
  s.on("data", (b: Buffer) => (received += b.toString("latin1")));
  s.on("error", () => undefined);
  const opened = performance.now();
  const closed = new Promise<number>((resolve) => s.once("close", () => resolve(performance.now() - opened)));
  if (bytes) s.write(bytes);
  return { s, data: () => received, closed };
}

const connectJsonRequest = (path: string, body: string, extra = "") =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnect-Protocol-Version: 1\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

test("under a stalled-connection attack the server holds what its limits allow, closes everything within its deadlines, and keeps serving a legitimate client", async () => {
  const limits = { maxStreamsPerConnection: 20, maxInFlight: 64, maxRequestBytesInFlight: 4 * 1024 * 1024, headersTimeoutMs: 500, requestTimeoutMs: 1000, idleTimeoutMs: 1000 };
  const { server, url, port } = await start(limits);
  const peak = { streams: 0, inFlight: 0, requestBytes: 0 };
  const sampler = setInterval(() => {
    const s = server.stats();
    peak.streams = Math.max(peak.streams, s.streams);
    peak.inFlight = Math.max(peak.inFlight, s.inFlight);
    peak.requestBytes = Math.max(peak.requestBytes, s.requestBytes);
  }, 5);
  cleanups.push(() => clearInterval(sampler));

  // A legitimate client on its own connections, calling throughout: gRPC (fast path), Connect over HTTP/1.1, health.
  const legit = createClient(AdapterService, createGrpcTransport({ baseUrl: url }));
  const legitH1 = createClient(AdapterService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
  const health = createClient(Health, createGrpcTransport({ baseUrl: url }));
  expect((await legit.getStatus({})).adapter).toBe("ok");
  let attacking = true;
  let legitCalls = 0;
  const legitErrors: unknown[] = [];
  const legitLoop = (async () => {
    while (attacking) {
      try {
        expect((await legit.dryRun({ resourceId: "x" }, { timeoutMs: 5000 })).outcome).toBe("ok");
        expect((await legitH1.getStatus({}, { timeoutMs: 5000 })).adapter).toBe("ok");
        expect((await health.check({}, { timeoutMs: 5000 })).status).toBe(ServingStatus.SERVING);
        legitCalls += 3;
      } catch (e) {
        legitErrors.push(e);
      }
      await sleep(10);
    }
  })();

  // Memory: 200 streams each announcing a 4 MB message, sending 256 KiB of it and stalling; half take
  // the fast gRPC path, half connect-node's (gRPC-Web), which allocates the announced size up front.
  const partial = Buffer.concat([prefix(4 * 1024 * 1024 - 64), Buffer.alloc(256 * 1024, 0x61)]);
  const memory = eagerSession(url);
  const memoryStreams = Array.from({ length: 200 }, (_, i) => raw(memory, DRY_RUN, i % 2 ? "application/grpc" : "application/grpc-web+proto", partial));
  // Slots: 200 streams each announcing a small message and sending part of it.
  const slots = eagerSession(url);
  const slotStreams = Array.from({ length: 200 }, () => raw(slots, DRY_RUN, "application/grpc", Buffer.concat([prefix(1000), Buffer.alloc(10)])));
  // Idle HTTP/2 connections, half-sent HTTP/1.1 bodies and headers, silent sockets.
  const idle = Array.from({ length: 5 }, () => {
    const s = eagerSession(url);
    return new Promise<number>((resolve) => {
      const opened = performance.now();
      s.once("close", () => resolve(performance.now() - opened));
    });
  });
  const h1Bodies = Array.from({ length: 10 }, () => socket(port, `POST ${DRY_RUN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnect-Protocol-Version: 1\r\nContent-Length: 4000000\r\n\r\n{"resourceId":"${"a".repeat(64 * 1024)}`));
  const h1Headers = Array.from({ length: 5 }, () => socket(port, `POST ${DRY_RUN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`));
  const silent = Array.from({ length: 5 }, () => socket(port));

  const streamsClosed = await within("every stalled stream closed by the server", Promise.all([...memoryStreams, ...slotStreams].map((r) => r.closed)));
  const [idleClosed, bodiesClosed, headersClosed, silentClosed] = await within(
    "every stalled connection closed by the server",
    Promise.all([Promise.all(idle), Promise.all(h1Bodies.map((h) => h.closed)), Promise.all(h1Headers.map((h) => h.closed)), Promise.all(silent.map((h) => h.closed))]),
  );
  attacking = false;
  await legitLoop;

  // Every stalled stream and connection was closed by the server, within its deadline.
  for (const c of streamsClosed) expect(c.ms).toBeLessThan(limits.requestTimeoutMs + SLACK_MS);
  for (const ms of idleClosed) expect(ms).toBeLessThan(limits.idleTimeoutMs + SLACK_MS);
  for (const ms of bodiesClosed) expect(ms).toBeLessThan(limits.headersTimeoutMs + limits.requestTimeoutMs + SLACK_MS);
  for (const ms of [...headersClosed, ...silentClosed]) expect(ms).toBeLessThan(2 * limits.headersTimeoutMs + SLACK_MS);
  // Streams beyond the per-connection cap were refused (REFUSED_STREAM) or held back by the client
  // that read the settings; never more than the cap were open on either attacking connection.
  expect(memory.remoteSettings.maxConcurrentStreams).toBe(20);
  const refused = streamsClosed.filter((c) => c.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM).length;
  expect(refused).toBeGreaterThan(0);
  expect(peak.streams).toBeLessThanOrEqual(2 * 20 + 5);
  // Request memory stayed within its budget: most 4 MB announcements were shed (Unavailable) at once.
  expect(peak.requestBytes).toBeLessThanOrEqual(limits.maxRequestBytesInFlight);
  expect(memoryStreams.filter((r) => r.headers["grpc-status"] === String(Code.Unavailable)).length).toBeGreaterThan(0);
  expect(peak.inFlight).toBeLessThanOrEqual(limits.maxInFlight);
  // HTTP/1.1 bodies announcing 4 MB were shed (503, once Connect has drained what it drains) or cut at the deadline.
  for (const h of h1Bodies) expect(h.data() === "" || h.data().startsWith("HTTP/1.1 503")).toBe(true);

  expect(legitErrors).toEqual([]);
  expect(legitCalls).toBeGreaterThan(0);
  expect((await legit.getStatus({})).adapter).toBe("ok");
  // Nothing is left held: the legitimate client's two connections are all that remain.
  await waitFor("the attack's connections released", () => server.stats().connections <= 2);
  expect(server.stats()).toMatchObject({ inFlight: 0, requestBytes: 0, streams: 0 });
}, 30_000);

describe.each([true, false])("fastPath %s", (fastPath) => {
  test("beyond maxInFlight a call is shed (Unavailable) at once, before its body is read, while health Check still answers SERVING", async () => {
    const { server, url, holds } = await start({ maxInFlight: 3 }, { fastPath });
    const grpc = createClient(AdapterService, createGrpcTransport({ baseUrl: url }));
    const held = [1, 2, 3].map(() => grpc.dryRun({ resourceId: "hold" }));
    await waitFor("three calls in progress", () => holds.count === 3);
    expect(server.stats().inFlight).toBe(3);

    expect((await rejection(grpc.getStatus({}))).code).toBe(Code.Unavailable);
    // A body that never ends still gets its answer: the refusal does not wait for it.
    const session = eagerSession(url);
    const stalled = raw(session, DRY_RUN, "application/grpc", Buffer.concat([prefix(100), Buffer.alloc(10)]));
    await stalled.closed;
    expect(stalled.headers["grpc-status"]).toBe(String(Code.Unavailable));
    // Other protocols are shed too.
    expect((await rejection(createClient(AdapterService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })).getStatus({}))).code).toBe(Code.Unavailable);
    expect((await rejection(createClient(AdapterService, createGrpcWebTransport({ baseUrl: url, httpVersion: "2" })).getStatus({}))).code).toBe(Code.Unavailable);

    // The health check is exempt, on gRPC and on Connect over HTTP/1.1.
    expect((await createClient(Health, createGrpcTransport({ baseUrl: url })).check({})).status).toBe(ServingStatus.SERVING);
    expect((await createClient(Health, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })).check({})).status).toBe(ServingStatus.SERVING);

    holds.release();
    expect((await Promise.all(held)).map((r) => r.outcome)).toEqual(["released", "released", "released"]);
    expect((await grpc.getStatus({})).adapter).toBe("ok");
    await waitFor("slots released", () => server.stats().inFlight === 0);
  });

  test("every way a call can end gives its in-flight slot and request bytes back (a leak would shed everything forever)", async () => {
    const limits = { maxInFlight: 2, requestTimeoutMs: 400, maxRequestBytesInFlight: 1024 * 1024 };
    const { server, url, port, holds } = await start(limits, { fastPath });
    const grpc = createClient(AdapterService, createGrpcTransport({ baseUrl: url }));
    const connectH1 = createClient(AdapterService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    const connectH2 = createClient(AdapterService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
    const grpcWeb = createClient(AdapterService, createGrpcWebTransport({ baseUrl: url, httpVersion: "2" }));
    const session = eagerSession(url);

    // Completed, failed, refused by the service's gate.
    for (const client of [grpc, connectH1, connectH2, grpcWeb]) {
      expect((await client.dryRun({ resourceId: "x" })).outcome).toBe("ok");
      expect((await rejection(client.dryRun({ resourceId: "fail" }))).code).toBe(Code.FailedPrecondition);
      expect((await rejection(client.dryRun({ resourceId: "crash" }))).code).toBe(Code.Internal);
      expect((await rejection(client.dryRun({ resourceId: "x" }, { headers: { "x-refuse": "1" } }))).code).toBe(Code.PermissionDenied);
    }
    // The call's deadline passed; the client cancelled while the handler ran.
    expect((await rejection(grpc.dryRun({ resourceId: "hold" }, { timeoutMs: 50 }))).code).toBe(Code.DeadlineExceeded);
    expect((await rejection(connectH1.dryRun({ resourceId: "hold" }, { timeoutMs: 50 }))).code).toBe(Code.DeadlineExceeded);
    for (const client of [grpc, connectH1, grpcWeb]) {
      const abort = new AbortController();
      const call = rejection(client.dryRun({ resourceId: "hold" }, { signal: abort.signal }));
      await waitFor("the call to reach its handler", () => holds.count === 1);
      abort.abort();
      expect((await call).code).toBe(Code.Canceled);
      await waitFor("the handler to see the cancellation", () => holds.count === 0);
    }
    // The client reset its stream mid-body; the client stalled mid-body until the server's deadline.
    const reset = raw(session, DRY_RUN, "application/grpc", Buffer.concat([prefix(1000), Buffer.alloc(10)]));
    await sleep(50);
    reset.stream.close(http2.constants.NGHTTP2_CANCEL);
    await reset.closed;
    const stalled = raw(session, DRY_RUN, "application/grpc", Buffer.concat([prefix(1000), Buffer.alloc(10)]));
    expect((await stalled.closed).ms).toBeLessThan(limits.requestTimeoutMs + SLACK_MS);
    // Over the request-bytes budget, over the message size limit, undecodable.
    for (const type of ["application/grpc", "application/grpc-web+proto"]) {
      const big = raw(session, DRY_RUN, type, Buffer.concat([prefix(2 * 1024 * 1024), Buffer.alloc(100 * 1024)]));
      await big.closed;
    }
    const oversize = raw(session, DRY_RUN, "application/grpc", Buffer.concat([prefix(5 * 1024 * 1024), Buffer.alloc(100)]));
    await oversize.closed;
    expect(oversize.headers["grpc-status"]).toBe(String(Code.ResourceExhausted));
    const garbage = raw(session, DRY_RUN, "application/grpc", encodeFrame(new Uint8Array([0xff, 0xff, 0xff])), { end: true });
    await garbage.closed;
    expect(garbage.headers["grpc-status"]).toBe(String(Code.InvalidArgument));
    // An HTTP/1.1 client that went away mid-call, and one that stalled mid-body.
    const gone = socket(port, connectJsonRequest(DRY_RUN, '{"resourceId":"hold"}'));
    await waitFor("the HTTP/1.1 call to reach its handler", () => holds.count === 1);
    gone.s.destroy();
    await waitFor("the handler to see the client leave", () => holds.count === 0);
    const half = socket(port, `POST ${DRY_RUN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnect-Protocol-Version: 1\r\nContent-Length: 100\r\n\r\n{"resou`);
    await half.closed;
    // A server-streaming call the client cancelled.
    const abort = new AbortController();
    for await (const r of createClient(Health, createGrpcTransport({ baseUrl: url })).watch({}, { signal: abort.signal })) {
      expect(r.status).toBe(ServingStatus.SERVING);
      break;
    }
    abort.abort();

    await waitFor("every slot and byte back", () => server.stats().inFlight === 0 && server.stats().requestBytes === 0 && server.stats().streams === 0);
    // And the count is exact: exactly maxInFlight calls fit again.
    const held = [grpc.dryRun({ resourceId: "hold" }), connectH1.dryRun({ resourceId: "hold" })];
    await waitFor("two calls in progress", () => holds.count === 2);
    expect((await rejection(grpc.getStatus({}))).code).toBe(Code.Unavailable);
    holds.release();
    await Promise.all(held);
  });

  test("a request's announced size counts against maxRequestBytesInFlight before it arrives (connect-node allocates it), and the first 64 KiB of each call are free", async () => {
    const { server, url } = await start({ maxRequestBytesInFlight: 1024 * 1024, requestTimeoutMs: 5000 }, { fastPath });
    const session = eagerSession(url);
    // Announces 900 KiB, sends 1 KiB: charged 900 KiB less the free 64 KiB.
    const first = raw(session, DRY_RUN, "application/grpc", Buffer.concat([prefix(900 * 1024), Buffer.alloc(1024)]));
    await waitFor("the first call charged", () => server.stats().requestBytes > 0);
    expect(server.stats().requestBytes).toBe(900 * 1024 + 5 - 64 * 1024);
    // A second large one does not fit: refused at once.
    const second = raw(session, DRY_RUN, "application/grpc-web+proto", Buffer.concat([prefix(900 * 1024), Buffer.alloc(1024)]));
    await second.closed;
    expect(first.stream.closed).toBe(false);
    // Small calls are unaffected.
    expect((await createClient(AdapterService, createGrpcTransport({ baseUrl: url })).dryRun({ resourceId: "x" })).outcome).toBe("ok");
    expect((await createClient(AdapterService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })).dryRun({ resourceId: "x" })).outcome).toBe("ok");
    first.stream.close(http2.constants.NGHTTP2_CANCEL);
    await first.closed;
    await waitFor("bytes released", () => server.stats().requestBytes === 0);
  });
});

test("deadlines spare streaming calls once their request is in, and an idle timeout spares a connection with a stream open", async () => {
  const { url, holds } = await start({ requestTimeoutMs: 200, idleTimeoutMs: 200, headersTimeoutMs: 200 });
  const watchOver = async (transport: Parameters<typeof createClient>[1]) => {
    const abort = new AbortController();
    const it = createClient(Health, transport).watch({}, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await it.next()).value?.status).toBe(ServingStatus.SERVING);
    // Five times both deadlines with no traffic: the stream is neither reset nor its connection closed.
    const next = it.next().then(() => "message", (e: unknown) => `error ${String(e)}`);
    expect(await Promise.race([next, sleep(1000).then(() => "still open")])).toBe("still open");
    abort.abort();
    await next;
  };
  await watchOver(createGrpcTransport({ baseUrl: url }));
  await watchOver(createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
  // A unary call slower than the idle timeout, on a connection with nothing else open.
  const slow = createClient(AdapterService, createGrpcTransport({ baseUrl: url })).dryRun({ resourceId: "hold" });
  await waitFor("the call to reach its handler", () => holds.count === 1);
  await sleep(1000);
  holds.release();
  expect((await slow).outcome).toBe("released");
});

test("idle and slow connections are closed by the server: HTTP/2 without streams, HTTP/1.1 between requests, slow headers, silent sockets", async () => {
  const limits = { idleTimeoutMs: 300, headersTimeoutMs: 300, requestTimeoutMs: 300 };
  const { port, url } = await start(limits);
  const idleH2 = eagerSession(url);
  let goaway = false;
  idleH2.on("goaway", () => (goaway = true));
  const h2Opened = performance.now();
  const h2Closed = new Promise<number>((resolve) => idleH2.once("close", () => resolve(performance.now() - h2Opened)));
  // After one answered request, the keep-alive connection waits for the next.
  const keepAlive = socket(port, connectJsonRequest("/grpc.health.v1.Health/Check", "{}"));
  await waitFor("the HTTP/1.1 answer", () => keepAlive.data().includes("SERVING"));
  // Headers dribbled one byte at a time: traffic, but never a complete request.
  const drip = socket(port);
  const header = `POST ${GET_STATUS} HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(1000)}`;
  let i = 0;
  const dripper = setInterval(() => drip.s.write(header[i++ % header.length]), 20);
  cleanups.push(() => clearInterval(dripper));
  const silent = socket(port);

  const bound = limits.idleTimeoutMs + limits.headersTimeoutMs + SLACK_MS;
  expect(await h2Closed).toBeLessThan(bound);
  expect(goaway).toBe(true);
  expect(await keepAlive.closed).toBeLessThan(bound);
  expect(await drip.closed).toBeLessThan(2 * limits.headersTimeoutMs + SLACK_MS);
  expect(await silent.closed).toBeLessThan(limits.headersTimeoutMs + SLACK_MS);
});

test("header limits: HTTP/1.1 answers 431 and HTTP/2 resets a stream whose headers exceed maxHeaderBytes; ordinary headers pass", async () => {
  const { port, url } = await start({ maxHeaderBytes: 4096 });
  const big = socket(port, connectJsonRequest("/grpc.health.v1.Health/Check", "{}", `X-Big: ${"a".repeat(8000)}\r\n`));
  await big.closed;
  expect(big.data()).toMatch(/^HTTP\/1.1 431/);

  const session = http2.connect(url);
  cleanups.push(() => session.destroy());
  session.on("error", () => undefined);
  // The limit binds once the client has the server's settings (nghttp2 applies them on acknowledgement).
  await new Promise((r) => session.once("remoteSettings", r));
  expect(session.remoteSettings.maxHeaderListSize).toBe(4096);
  const tooBig = raw(session, GET_STATUS, "application/grpc", prefix(0), { end: true, headers: { "x-big": "a".repeat(8000) } });
  expect((await tooBig.closed).rstCode).not.toBe(0);
  expect(tooBig.headers[":status"]).toBeUndefined();
  const ok = raw(session, GET_STATUS, "application/grpc", prefix(0), { end: true, headers: { "x-small": "a".repeat(500) } });
  await ok.closed;
  expect(ok.headers["grpc-status"]).toBe("0");
});

test("beyond maxConnections a new connection is closed on accept; the others are served", async () => {
  const { port, url } = await start({ maxConnections: 2 });
  const a = socket(port);
  const b = socket(port);
  await sleep(100);
  const c = socket(port);
  await c.closed;
  a.s.destroy();
  b.s.destroy();
  await Promise.all([a.closed, b.closed]);
  expect((await createClient(AdapterService, createGrpcTransport({ baseUrl: url })).getStatus({})).adapter).toBe("ok");
});

test("close(graceMs) answers the calls in progress, stalled ones included, and leaves nothing held", async () => {
  const { server, url, holds } = await start({});
  const grpc = createClient(AdapterService, createGrpcTransport({ baseUrl: url }));
  const call = grpc.dryRun({ resourceId: "hold" }).then((r) => r.outcome, (e: unknown) => ConnectError.from(e).code);
  await waitFor("the call to reach its handler", () => holds.count === 1);
  // A stalled body too.
  const stalled = raw(eagerSession(url), DRY_RUN, "application/grpc", Buffer.concat([prefix(1000), Buffer.alloc(10)]));
  await waitFor("the stalled call admitted", () => server.stats().inFlight === 2);
  const closing = server.close(1000);
  // Shutdown aborts the handlers' signals: the call is answered (Unavailable, retryable) rather than cut.
  expect(await call).toBe(Code.Unavailable);
  await closing;
  await stalled.closed;
  // The sockets' own close events may trail the listener's by a tick.
  await waitFor("every connection gone", () => server.stats().connections === 0);
  expect(server.stats()).toEqual({ connections: 0, sessions: 0, streams: 0, inFlight: 0, requestBytes: 0 });
});
