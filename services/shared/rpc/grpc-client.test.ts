/**
 * The fast gRPC client transport against our real server and against a bare HTTP/2 server that
 * misbehaves on purpose: every outcome a caller can see (message, headers, trailers, status, details,
 * deadline, cancellation, a server that restarts or answers garbage) must be what connect-node's gRPC
 * transport gives, because the services' retry and error handling depend on those codes.
 */
import http2 from "node:http2";
import net from "node:net";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createContextKey, createContextValues, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { BadRequestSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { AdapterService, DryRunResponseSchema } from "../../../gen/hyperfleet/v1/adapter_pb.js";
import { createFastGrpcTransport } from "./grpc-client.js";
import { createRpcServer, type RpcServer } from "./serve.js";
import { waitUnlessAborted } from "../../../test/support/slow-call.js";
import { encodeFrame } from "./grpc-wire.js";

let server: RpcServer;
let url: string;
let aborted = 0;

function startServer(port = 0) {
  const s = createRpcServer({
    services: [AdapterService],
    routes: (router) =>
      router.service(AdapterService, {
        async dryRun(req, ctx) {
          switch (req.resourceId) {
            case "slow":
              await waitUnlessAborted(ctx.signal, 3000, () => aborted++);
              return { outcome: "late" };
            case "plain-error":
              throw new Error("secret database detail");
            case "invalid":
              throw new ConnectError("spec.region: must not be empty", Code.InvalidArgument, { "x-why": "because" }, [
                { desc: BadRequestSchema, value: { fieldViolations: [{ field: "spec.region", description: "must not be empty" }] } },
              ]);
            case "headers":
              ctx.responseHeader.set("x-from-handler", "h");
              ctx.responseTrailer.set("x-trailer", "t");
              return { outcome: "headers" };
            case "big":
              return { outcome: "big", trace: Array.from({ length: 2000 }, (_, i) => `step ${i} of a long trace`) };
            default:
              return { outcome: `ok ${req.resourceId} ${ctx.requestHeader.get("x-hyperfleet-user") ?? ""} ${ctx.timeoutMs() !== undefined}` };
          }
        },
      }),
  });
  return s;
}

beforeAll(async () => {
  server = startServer();
  url = `http://127.0.0.1:${await server.listen(0, "127.0.0.1")}`;
});
afterAll(() => server.close(100));

const fast = (baseUrl = url, defaultTimeoutMs = 5000) => createFastGrpcTransport({ baseUrl, defaultTimeoutMs, pingTimeoutMs: 300 });
const connect = (baseUrl = url, defaultTimeoutMs = 5000) => createGrpcTransport({ baseUrl, defaultTimeoutMs });
const rejection = async (p: Promise<unknown>) => ConnectError.from(await p.then(() => new Error("no error"), (e: unknown) => e));

/** What a caller observes of one call. */
async function observe(transport: Transport, resourceId: string, timeoutMs?: number) {
  let header: Headers | undefined;
  let trailer: Headers | undefined;
  try {
    const r = await createClient(AdapterService, transport).dryRun(
      { resourceId },
      { headers: { "x-hyperfleet-user": "alice" }, timeoutMs, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) },
    );
    return { outcome: r.outcome, traceLength: r.trace.length, header: header?.get("x-from-handler"), trailer: trailer?.get("x-trailer") };
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: Code[e.code], message: e.rawMessage, why: e.metadata.get("x-why"), violations: e.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field)) };
  }
}

test.each(["x", "headers", "big", "invalid", "plain-error"])("call %s: the caller sees exactly what connect-node's gRPC transport shows", async (id) => {
  const expected = await observe(connect(), id);
  expect(await observe(fast(), id)).toEqual(expected);
});

test("a call carries its headers and a deadline; details name the field", async () => {
  expect(await observe(fast(), "x")).toMatchObject({ outcome: "ok x alice true" });
  expect(await observe(fast(), "invalid")).toMatchObject({ code: "InvalidArgument", message: "spec.region: must not be empty", why: "because", violations: ["spec.region"] });
  expect(await observe(fast(), "plain-error")).toMatchObject({ code: "Internal", message: "internal error" });
});

test("a deadline shorter than the call is DeadlineExceeded on the client, and the server's handler is aborted", async () => {
  const before = aborted;
  expect(await observe(fast(), "slow", 100)).toMatchObject({ code: "DeadlineExceeded" });
  await new Promise((r) => setTimeout(r, 100));
  expect(aborted).toBe(before + 1);
});

test("an aborted signal cancels the call on both ends", async () => {
  const before = aborted;
  const ac = new AbortController();
  const call = createClient(AdapterService, fast()).dryRun({ resourceId: "slow" }, { signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  expect((await rejection(call)).code).toBe(Code.Canceled);
  await new Promise((r) => setTimeout(r, 100));
  expect(aborted).toBe(before + 1);
  expect((await rejection(createClient(AdapterService, fast()).dryRun({ resourceId: "x" }, { signal: ac.signal }))).code).toBe(Code.Canceled);
});

test("many concurrent calls share one connection and each gets its own answer", async () => {
  const client = createClient(AdapterService, fast());
  const ids = Array.from({ length: 200 }, (_, i) => `c${i}`);
  const out = await Promise.all(ids.map((id) => client.dryRun({ resourceId: id })));
  expect(out.map((r) => r.outcome)).toEqual(ids.map((id) => `ok ${id}  true`));
});

test("a server that is down is Unavailable (retryable); once it is back, the same transport reconnects", async () => {
  const s = startServer();
  const port = await s.listen(0, "127.0.0.1");
  const transport = fast(`http://127.0.0.1:${port}`);
  const client = createClient(AdapterService, transport);
  expect((await client.dryRun({ resourceId: "a" })).outcome).toBe("ok a  true");
  await s.close(100);
  expect((await rejection(client.dryRun({ resourceId: "b" }))).code).toBe(Code.Unavailable);
  const again = startServer();
  await again.listen(port, "127.0.0.1");
  try {
    expect((await client.dryRun({ resourceId: "c" })).outcome).toBe("ok c  true");
  } finally {
    await again.close(100);
  }
});

test("a path prefix in the base URL is kept, as Connect keeps it", async () => {
  const raw = await rawServer((stream, headers) => {
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(encodeFrame(toBinary(DryRunResponseSchema, create(DryRunResponseSchema, { outcome: String(headers[":path"]) }))));
  });
  try {
    expect((await createClient(AdapterService, fast(`${raw.url}/api/`)).dryRun({})).outcome).toBe("/api/hyperfleet.v1.AdapterService/DryRun");
  } finally {
    await raw.close();
  }
});

describe("a server that answers badly", () => {
  const cases: [string, (stream: http2.ServerHttp2Stream) => void, Code, RegExp?][] = [
    ["a gzipped message (decompressed)", (s) => okWith(s, encodeFrame(gzipSync(toBinary(DryRunResponseSchema, create(DryRunResponseSchema, { outcome: "zipped" }))), true), { "grpc-encoding": "gzip" }), -1 as Code],
    ["HTTP 503 → Unavailable", (s) => (s.respond({ ":status": 503, "content-type": "text/plain" }), s.end("busy")), Code.Unavailable],
    ["HTTP 404 → Unimplemented", (s) => (s.respond({ ":status": 404 }), s.end()), Code.Unimplemented],
    ["not gRPC → Internal", (s) => (s.respond({ ":status": 200, "content-type": "text/html" }), s.end("<html>")), Code.Internal, /content type/],
    ["no status → Internal", (s) => (s.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true }), s.on("wantTrailers", () => s.sendTrailers({ "x-other": "1" })), s.end(encodeFrame(Buffer.alloc(0)))), Code.Internal, /missing status/],
    ["a broken frame → Unimplemented", (s) => okWith(s, Buffer.from([0, 0, 0, 0, 9, 1])), Code.Unimplemented],
    ["REFUSED_STREAM → Unavailable", (s) => s.close(http2.constants.NGHTTP2_REFUSED_STREAM), Code.Unavailable],
    ["INTERNAL_ERROR reset → Internal", (s) => s.close(http2.constants.NGHTTP2_INTERNAL_ERROR), Code.Internal],
    ["the connection dropped before any response → Unavailable (retryable)", (s) => s.session?.destroy(), Code.Unavailable, /connection/],
    ["the connection dropped after the headers → Unavailable", (s) => (s.respond({ ":status": 200, "content-type": "application/grpc" }), s.write(Buffer.from([0, 0, 0])), setTimeout(() => s.session?.destroy(), 20)), Code.Unavailable, /connection/],
    ["a trailers-only error", (s) => (s.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "5", "grpc-message": "gone%20away" }, { endStream: true })), Code.NotFound, /gone away/],
  ];
  test.each(cases.map(([name, answer, code, message]) => ({ name, answer, code, message })))("$name", async ({ answer, code, message }) => {
    const raw = await rawServer((stream) => answer(stream));
    try {
      const call = createClient(AdapterService, fast(raw.url)).dryRun({});
      if (code === (-1 as Code)) return expect((await call).outcome).toBe("zipped");
      const e = await rejection(call);
      expect(Code[e.code]).toBe(Code[code]);
      if (message) expect(e.rawMessage).toMatch(message);
    } finally {
      await raw.close();
    }
  });
});

function okWith(s: http2.ServerHttp2Stream, body: Buffer, extra: http2.OutgoingHttpHeaders = {}) {
  s.respond({ ":status": 200, "content-type": "application/grpc", ...extra }, { waitForTrailers: true });
  s.on("wantTrailers", () => s.sendTrailers({ "grpc-status": "0" }));
  s.end(body);
}


async function rawServer(answer: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void) {
  const s = http2.createServer();
  s.on("stream", (stream, headers) => {
    stream.on("error", () => undefined);
    stream.resume();
    stream.on("end", () => answer(stream, headers));
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  const sessions = new Set<http2.ServerHttp2Session>();
  s.on("session", (x) => (sessions.add(x), x.on("close", () => sessions.delete(x))));
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => (sessions.forEach((x) => x.destroy()), s.close(() => r()))),
  };
}

test("a connection that stops answering is dropped after a call times out, and the next call reconnects; a slow but live one is kept", async () => {
  // In front of a working server, a TCP relay whose first connection swallows everything (a peer whose
  // host is gone: no answer, no reset, no PING ack); later connections are relayed.
  const backend = await rawServer((stream) => okWith(stream, encodeFrame(toBinary(DryRunResponseSchema, create(DryRunResponseSchema, { outcome: "second connection" })))));
  const port = Number(new URL(backend.url).port);
  const sockets: net.Socket[] = [];
  const relay = net.createServer((socket) => {
    sockets.push(socket);
    if (sockets.length === 1) return socket.pause();
    const upstream = net.connect(port, "127.0.0.1");
    sockets.push(upstream);
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
  const client = createClient(AdapterService, fast(`http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`, 200));
  try {
    expect((await rejection(client.dryRun({}))).code).toBe(Code.DeadlineExceeded);
    await new Promise((r) => setTimeout(r, 600)); // the unanswered PING's wait
    expect((await client.dryRun({})).outcome).toBe("second connection");
  } finally {
    sockets.forEach((x) => x.destroy());
    await new Promise<void>((r) => relay.close(() => r()));
    await backend.close();
  }
});

test("a server that is only slow keeps its connection after a call times out (the PING is answered)", async () => {
  let sessions = 0;
  let calls = 0;
  const s = http2.createServer();
  const open = new Set<http2.ServerHttp2Session>();
  s.on("session", (x) => (sessions++, open.add(x)));
  s.on("stream", (stream) => {
    stream.on("error", () => undefined);
    stream.resume();
    const n = ++calls;
    stream.on("end", () => setTimeout(() => !stream.destroyed && okWith(stream, encodeFrame(toBinary(DryRunResponseSchema, create(DryRunResponseSchema, { outcome: `call ${n}` })))), n === 1 ? 500 : 0));
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const client = createClient(AdapterService, fast(`http://127.0.0.1:${(s.address() as net.AddressInfo).port}`, 100));
  try {
    expect((await rejection(client.dryRun({}))).code).toBe(Code.DeadlineExceeded);
    await new Promise((r) => setTimeout(r, 600)); // longer than the PING may take
    expect((await client.dryRun({})).outcome).toBe("call 2");
    expect(sessions).toBe(1);
  } finally {
    open.forEach((x) => x.destroy());
    await new Promise<void>((r) => s.close(() => r()));
  }
});

test("interceptors run around each call, outermost first, with the call's context values (credentials go here)", async () => {
  const user = createContextKey("", { description: "who calls" });
  const order: string[] = [];
  const transport = createFastGrpcTransport({
    baseUrl: url,
    defaultTimeoutMs: 5000,
    interceptors: [
      (next) => async (req) => {
        order.push("outer");
        req.header.set("x-hyperfleet-user", req.contextValues.get(user));
        return next(req);
      },
      (next) => async (req) => {
        order.push("inner");
        const res = await next(req);
        order.push(`inner saw ${res.header.get("content-type")}`);
        return res;
      },
    ],
  });
  const r = await createClient(AdapterService, transport).dryRun({ resourceId: "x" }, { contextValues: createContextValues().set(user, "alice") });
  expect(r.outcome).toBe("ok x alice true");
  expect(order).toEqual(["outer", "inner", "inner saw application/grpc"]);
});
