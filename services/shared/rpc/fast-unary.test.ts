/**
 * The fast unary gRPC path against a real server: what a gRPC client sees must be what Connect's own
 * handler gives (statuses, details, deadlines, headers, compression), and what it does not serve
 * (other protocols, compressed requests) must still reach Connect. The suite runs against both paths
 * (fastPath true and false; one case excepted, where connect-node crashes): that is what "the same
 * as Connect" means here.
 */
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createContextKey, type Interceptor } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AdapterService, DryRunRequestSchema } from "../../../gen/hyperfleet/v1/adapter_pb.js";
import { createRpcServer, type RpcServer } from "./serve.js";
import { waitUnlessAborted } from "../../../test/support/slow-call.js";
import { encodeFrame } from "./grpc-wire.js";

let url: string;
const gateKey = createContextKey("", { description: "what the request gate saw" });

describe.each([true, false])("fastPath %s", (fastPath) => {
  let server: RpcServer;
  let aborted = 0;
  const seen: string[] = [];

  /** Adds a header to every response and records each call, to show interceptors run on this path. */
  const tag: Interceptor = (next) => async (req) => {
    seen.push(req.method.name);
    const res = await next(req);
    res.header.set("x-intercepted", "yes");
    return res;
  };

  beforeAll(async () => {
    server = createRpcServer({
      fastPath,
      services: [AdapterService],
      // Runs before the body is read, on both paths; what it puts in the context reaches the handler.
      requestGate(ctx) {
        if (ctx.requestHeader.get("x-gate") === "refuse") throw new ConnectError("refused at the gate", Code.PermissionDenied);
        ctx.values.set(gateKey, ctx.requestHeader.get("x-gate") ?? "");
      },
      interceptors: [tag],
      routes: (router) =>
        router.service(AdapterService, {
          getStatus: () => ({ adapter: "fast" }),
          async dryRun(req, ctx) {
            switch (req.resourceId) {
              case "slow":
                await waitUnlessAborted(ctx.signal, 3000, () => aborted++);
                return { outcome: "late" };
              case "plain-error":
                throw new Error("secret database detail");
              case "invalid":
                throw new ConnectError("resource_id: must be a UUID", Code.InvalidArgument);
              case "big":
                return { outcome: "big", trace: Array.from({ length: 2000 }, (_, i) => `step ${i} of a long trace`) };
              case "headers":
                ctx.responseHeader.set("x-from-handler", "h");
                ctx.responseTrailer.set("x-trailer", "t");
                return { outcome: "headers" };
              case "headers-then-error":
                ctx.responseHeader.set("x-from-handler", "h");
                throw new ConnectError("gone", Code.NotFound);
              case "hop-by-hop":
                // HTTP/2 forbids this header; Node throws if it is sent.
                ctx.responseHeader.set("connection", "keep-alive");
                return { outcome: "hop-by-hop" };
              case "hop-by-hop-error":
                throw new ConnectError("with bad metadata", Code.Aborted, { connection: "keep-alive", "content-type": "text/plain" });
              default:
                return { outcome: `ok ${ctx.requestHeader.get("x-hyperfleet-user") ?? ""}${ctx.values.get(gateKey)}`.trim() };
            }
          },
        }),
    });
    url = `http://127.0.0.1:${await server.listen(0, "127.0.0.1")}`;
  });
  afterAll(() => server.close(100));

  const grpc = (opts: Partial<Parameters<typeof createGrpcTransport>[0]> = {}) => createClient(AdapterService, createGrpcTransport({ baseUrl: url, ...opts }));
  const rejection = async (p: Promise<unknown>) => ConnectError.from(await p.then(() => new Error("no error"), (e: unknown) => e));

  test("a unary gRPC call runs the implementation with its headers, through the interceptors", async () => {
    seen.length = 0;
    let header: Headers | undefined;
    const r = await grpc().dryRun({ resourceId: "x" }, { headers: { "x-hyperfleet-user": "alice" }, onHeader: (h) => (header = h) });
    expect(r.outcome).toBe("ok alice");
    expect(seen).toEqual(["DryRun"]);
    expect(header?.get("x-intercepted")).toBe("yes");
  });

  test("response headers and trailers set by the handler reach the client", async () => {
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    await grpc().dryRun({ resourceId: "headers" }, { onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) });
    expect(header?.get("x-from-handler")).toBe("h");
    expect(trailer?.get("x-trailer")).toBe("t");
  });

  test("this path (not Connect's) is what answers gRPC here: it says application/grpc, Connect application/grpc+proto", async () => {
    const r = await rawCall("/hyperfleet.v1.AdapterService/GetStatus", Buffer.alloc(5));
    expect(r.headers["content-type"]).toBe(!fastPath ? "application/grpc+proto" : "application/grpc");
  });

  test("headers set before an error still reach the client, with the status in trailers", async () => {
    const r = await rawCall("/hyperfleet.v1.AdapterService/DryRun", encodeFrame(toBinary(DryRunRequestSchema, create(DryRunRequestSchema, { resourceId: "headers-then-error" }))));
    expect(r.headers["grpc-status"]).toBe(String(Code.NotFound));
    expect(r.headers["x-from-handler"]).toBe("h");
  });

  test("headers HTTP/2 forbids, from a handler or an error's metadata, are dropped instead of failing the call", async () => {
    expect((await grpc().dryRun({ resourceId: "hop-by-hop" })).outcome).toBe("hop-by-hop");
    // connect-node 2.1.2 itself throws on the second case outside any catch (the process would die):
    // the one place this path is deliberately not "the same as Connect".
    if (fastPath) expect((await rejection(grpc().dryRun({ resourceId: "hop-by-hop-error" }))).code).toBe(Code.Aborted);
  });

  test("a deadline longer than a Node timer can wait is no deadline (it used to fire at once)", async () => {
    const r = await rawCall("/hyperfleet.v1.AdapterService/GetStatus", Buffer.alloc(5), { "grpc-timeout": "3000000S" });
    expect(r.headers["grpc-status"]).toBe("0");
  });

  test("a request over the size limit is ResourceExhausted, and the server keeps serving", async () => {
    const big = encodeFrame(toBinary(DryRunRequestSchema, create(DryRunRequestSchema, { eventJson: "x".repeat(4 * 1024 * 1024 + 10) })));
    const r = await rawCall("/hyperfleet.v1.AdapterService/DryRun", big);
    expect(r.headers["grpc-status"]).toBe(String(Code.ResourceExhausted));
    expect((await grpc().getStatus({})).adapter).toBe("fast");
  });

  test("errors: a ConnectError keeps its code and message; anything else is 'internal error' with no detail", async () => {
    const invalid = await rejection(grpc().dryRun({ resourceId: "invalid" }));
    expect([invalid.code, invalid.rawMessage]).toEqual([Code.InvalidArgument, "resource_id: must be a UUID"]);
    const plain = await rejection(grpc().dryRun({ resourceId: "plain-error" }));
    expect([plain.code, plain.rawMessage]).toEqual([Code.Internal, "internal error"]);
  });

  test("a deadline shorter than the call is DeadlineExceeded, and the handler's signal is aborted", async () => {
    const before = aborted;
    const err = await rejection(grpc().dryRun({ resourceId: "slow" }, { timeoutMs: 150 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    // The server's own timer (grpc-timeout) aborts the handler, not only the client giving up.
    for (let i = 0; i < 50 && aborted === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(aborted).toBe(before + 1);
  });

  test("a large response is gzipped for a client that accepts it, and plain for one that does not", async () => {
    const gz = await grpc().dryRun({ resourceId: "big" });
    expect(gz.trace).toHaveLength(2000);
    const plain = await grpc({ acceptCompression: [] }).dryRun({ resourceId: "big" });
    expect(plain.trace).toEqual(gz.trace);
    // What went over the wire: the encoding header tells.
    const encodingOf = (accept: string) => rawCall("/hyperfleet.v1.AdapterService/DryRun", encodeFrame(toBinary(DryRunRequestSchema, create(DryRunRequestSchema, { resourceId: "big" }))), { "grpc-accept-encoding": accept });
    expect((await encodingOf("gzip")).headers["grpc-encoding"]).toBe("gzip");
    expect((await encodingOf("identity")).headers["grpc-encoding"]).toBeUndefined();
  });

  test("calls this path does not take still work through Connect: gzip-compressed requests, the Connect protocol", async () => {
    expect((await grpc({ sendCompression: compressionGzip, compressMinBytes: 0 }).dryRun({ resourceId: "x" })).outcome).toBe("ok");
    expect((await createClient(AdapterService, createConnectTransport({ baseUrl: url, httpVersion: "2" })).dryRun({ resourceId: "x" })).outcome).toBe("ok");
    expect((await createClient(AdapterService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })).getStatus({})).adapter).toBe("fast");
  });

  test.each([
    ["no message", [], Code.Unimplemented],
    ["a cut envelope", [0, 0, 0], Code.InvalidArgument],
    ["fewer bytes than promised", [0, 0, 0, 0, 9, 1], Code.InvalidArgument],
    ["the compressed flag without an encoding", [1, 0, 0, 0, 0], Code.InvalidArgument],
    ["bytes that are not the message", [0, 0, 0, 0, 2, 0xff, 0xff], Code.InvalidArgument],
    ["two messages for a unary method", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], Code.Unimplemented],
  ])("a malformed request (%s) gets Connect's status, and the server keeps serving", async (_, bytes, code) => {
    const r = await rawCall("/hyperfleet.v1.AdapterService/DryRun", Buffer.from(bytes));
    expect(r.headers["grpc-status"]).toBe(String(code));
    expect((await grpc().getStatus({})).adapter).toBe("fast");
  });

  test("the request gate runs before the body is read: its refusal is the answer, its context values reach the handler", async () => {
    expect((await grpc().dryRun({ resourceId: "x" }, { headers: { "x-gate": "passed" } })).outcome).toBe("ok passed");
    const refused = await rejection(grpc().dryRun({ resourceId: "x" }, { headers: { "x-gate": "refuse" } }));
    expect([refused.code, refused.rawMessage]).toEqual([Code.PermissionDenied, "refused at the gate"]);
    // Even a body over the size limit is never read: the gate answers first.
    const big = encodeFrame(toBinary(DryRunRequestSchema, create(DryRunRequestSchema, { eventJson: "x".repeat(4 * 1024 * 1024 + 10) })));
    expect((await rawCall("/hyperfleet.v1.AdapterService/DryRun", big, { "x-gate": "refuse" })).headers["grpc-status"]).toBe(String(Code.PermissionDenied));
  });

  test.each(["grpc", "grpc-web", "connect"] as const)("an undecodable protobuf body is InvalidArgument over %s, not Internal", async (protocol) => {
    const garbage = new Uint8Array([0xff, 0xff, 0xff]);
    const path = "/hyperfleet.v1.AdapterService/DryRun";
    if (protocol === "grpc") {
      expect((await rawCall(path, encodeFrame(garbage))).headers["grpc-status"]).toBe(String(Code.InvalidArgument));
      return;
    }
    const res = await fetch(url + path, {
      method: "POST",
      headers: protocol === "connect" ? { "content-type": "application/proto" } : { "content-type": "application/grpc-web+proto" },
      body: protocol === "connect" ? garbage : encodeFrame(garbage),
    });
    const text = Buffer.from(await res.arrayBuffer()).toString("latin1");
    if (protocol === "connect") {
      expect(res.status).toBe(400);
      expect(JSON.parse(text).code).toBe("invalid_argument");
    } else {
      expect(text).toMatch(new RegExp(`grpc-status: ?${Code.InvalidArgument}\\b`));
    }
  });
});

/** One raw HTTP/2 gRPC request; the response's headers (trailers-only errors carry grpc-status there). */
function rawCall(path: string, body: Buffer, extra: Record<string, string> = {}): Promise<{ headers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...extra });
    let headers: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => (headers = { ...h }));
    req.on("trailers", (t) => (headers = { ...headers, ...t }));
    req.on("data", () => undefined);
    req.on("end", () => {
      session.close();
      resolve({ headers });
    });
    req.on("error", reject);
    req.end(body);
  });
}
