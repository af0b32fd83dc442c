import http2 from "node:http2";
const http2constants = http2.constants;
import { gzip } from "node:zlib";
import { promisify } from "node:util";
import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescMethod, type DescMethodUnary, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext, type Interceptor, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { respecHeaders } from "./grpc-message.js";
import { encodeFrame, headersFromHttp2, MAX_TIMER_MS } from "./grpc-wire.js";

const gzipAsync = promisify(gzip);

/** Responses above this size are gzipped when the client accepts it (the size Connect also uses). */
const COMPRESS_MIN_BYTES = 1024;
/** Larger request messages are refused (gRPC's usual default; serve.ts gives Connect's path the same limit). */
export const READ_MAX_BYTES = 4 * 1024 * 1024;
/** Headers HTTP/2 forbids (Node throws on them); a handler or an error's metadata may carry them. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host", "content-length"]);

type UnaryFn = (request: unknown, ctx: HandlerContext) => unknown;
/** What an interceptor wraps (Connect's AnyFn). */
type CallFn = Parameters<Interceptor>[0];

interface Route {
  service: DescService;
  method: DescMethodUnary<DescMessage, DescMessage>;
  impl: UnaryFn;
  /** Larger request messages are ResourceExhausted. */
  readMaxBytes: number;
}

export interface FastUnaryOptions {
  interceptors?: Interceptor[];
  /** Runs before the body is read, exactly as connect-node's `requestGate` (authentication, load shedding). */
  requestGate?: (ctx: HandlerContext) => void | Promise<void>;
  /** Aborts every call's signal when the server shuts down (connect-node's `shutdownSignal`). */
  shutdownSignal?: AbortSignal;
  /** Larger request messages are ResourceExhausted; READ_MAX_BYTES when omitted. */
  readMaxBytes?: number;
}

/** The server's bookkeeping for one call (serve.ts), shared with connect-node's path. */
export interface CallHooks {
  /** The call's context values (the request gate finds the call's in-flight slot there). */
  readonly values: ContextValues;
  /** Accounts a chunk of the request body; an error when the process holds too many request bytes to take it. */
  accept(chunk: Buffer): ConnectError | undefined;
}

/**
 * Unary calls over the gRPC protocol served straight from Node's HTTP/2 streams, the services' hot
 * path (every adapter and Sentinel call, every grpc-js or buf client): 1.7-2.4× connect-node's
 * throughput per core on Node 24 / connect-node 2.3 (docs/decisions/performance.md). The same
 * implementations, interceptors, request gate and Connect's own handler context, timeout parsing and
 * gRPC status encoding are used, so the wire behaviour is Connect's; everything else (Connect and
 * gRPC-Web protocols, compressed requests, streaming methods, HTTP/1.1) goes through connect-node.
 */
export function createFastUnary(opts: FastUnaryOptions = {}) {
  const interceptors = opts.interceptors ?? [];
  const readMaxBytes = opts.readMaxBytes ?? READ_MAX_BYTES;
  const routes = new Map<string, Route>();
  // Calls in progress, for shutdown to abort (one listener for all, not one per call).
  const running = new Set<AbortController>();
  opts.shutdownSignal?.addEventListener("abort", () => {
    for (const a of running) a.abort(opts.shutdownSignal!.reason);
  });
  /** Records a service's unary implementations (a partial implementation leaves the rest to Connect). */
  function register(service: DescService, impl: Record<string, unknown>, readMaxBytesOf?: (m: DescMethod) => number): void {
    for (const method of service.methods) {
      const fn = impl[method.localName];
      if (isUnary(method) && typeof fn === "function") {
        routes.set(`/${service.typeName}/${method.name}`, { service, method, impl: fn.bind(impl) as UnaryFn, readMaxBytes: readMaxBytesOf?.(method) ?? readMaxBytes });
      }
    }
  }

  /** The route for a stream this path serves: gRPC (protobuf), POST, identity-encoded, a known unary method. */
  function match(headers: http2.IncomingHttpHeaders): Route | undefined {
    if (headers[":method"] !== "POST") return undefined;
    const type = headers["content-type"];
    if (type !== "application/grpc" && type !== "application/grpc+proto") return undefined;
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return undefined;
    return routes.get(headers[":path"] ?? "");
  }

  /** Serves the stream if it is one of ours; false leaves it to Connect. */
  function tryHandle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, call?: CallHooks): boolean {
    const route = match(headers);
    if (!route) return false;
    serve(stream, headers, route, call).catch(() => {
      // Only a failure to write the response gets here (finish guards the rest): give up on the stream.
      if (!stream.destroyed) stream.close(http2constants.NGHTTP2_INTERNAL_ERROR);
    });
    return true;
  }

  async function serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, route: Route, call: CallHooks | undefined): Promise<void> {
    let done = false;
    let bodyEnded = false;
    const abort = new AbortController();
    // A reset or closed stream aborts the call; its errors are not ours to throw.
    stream.on("error", () => undefined);
    stream.once("close", () => {
      if (!done) abort.abort(new ConnectError("the client cancelled the call", Code.Canceled));
    });
    const finish = (error: ConnectError | undefined, payload?: Uint8Array, responseHeader?: Headers, trailer?: Headers, compressed = false) => {
      if (done) return;
      done = true;
      if (stream.destroyed || stream.closed) return;
      const head = { ":status": 200, "content-type": "application/grpc", "grpc-accept-encoding": "gzip", ...withoutHopByHop(toObject(responseHeader)) };
      if (error) {
        // setTrailerStatus also copies the error's metadata, which may hold another call's protocol headers.
        const status = withoutHopByHop(respecHeaders(toObject(setTrailerStatus(new Headers(trailer), error))));
        delete status["content-type"];
        if (responseHeader && [...responseHeader.keys()].length > 0) {
          // Headers the handler set before failing go first, the status in trailers, as Connect does.
          stream.respond(head, { waitForTrailers: true });
          stream.once("wantTrailers", () => stream.sendTrailers(status));
          stream.end();
        } else {
          // Trailers-only response (grpc-status, grpc-message, status details in the one HEADERS frame).
          stream.respond({ ":status": 200, "content-type": "application/grpc", ...status }, { endStream: true });
        }
        // A client still sending (an oversized body) is told to stop.
        if (!bodyEnded) stream.close(http2constants.NGHTTP2_NO_ERROR);
        return;
      }
      const frame = encodeFrame(payload!, compressed);
      stream.respond({ ...head, ...(compressed ? { "grpc-encoding": "gzip" } : {}) }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", ...withoutHopByHop(toObject(trailer)) }));
      stream.end(frame);
    };

    const deadline = parseTimeout(asString(headers["grpc-timeout"]) ?? null, Number.MAX_SAFE_INTEGER);
    if (deadline.error) return finish(deadline.error);
    // The handler context, built here rather than by Connect's createHandlerContext: its linked abort
    // controllers and the abort event it needs at the end of every call were 8 % of a report's CPU.
    // Cancellation, the deadline and shutdown abort the signal; a call that completes does not.
    const timeoutMs = deadline.timeoutMs !== undefined && deadline.timeoutMs <= MAX_TIMER_MS ? deadline.timeoutMs : undefined;
    const started = Date.now();
    const ctx: HandlerContext = {
      service: route.service,
      method: route.method,
      protocolName: "grpc",
      requestMethod: "POST",
      url: `http://${asString(headers[":authority"]) ?? "localhost"}${headers[":path"]}`,
      signal: abort.signal,
      // Node timers cannot wait longer than 2^31-1 ms (they fire at once instead): a longer deadline is none.
      timeoutMs: () => (timeoutMs === undefined ? undefined : timeoutMs - (Date.now() - started)),
      requestHeader: headersFromHttp2(headers),
      responseHeader: new Headers(),
      responseTrailer: new Headers(),
      values: call?.values ?? createContextValues(),
    };
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => abort.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
    // A deadline or shutdown answers at once, whatever the implementation does with its signal.
    abort.signal.addEventListener("abort", () => finish(ConnectError.from(abort.signal.reason)), { once: true });
    running.add(abort);
    try {
      await opts.requestGate?.(ctx);
      const body = await readBody(stream, route.readMaxBytes, call);
      bodyEnded = true;
      const req: UnaryRequest<DescMessage, DescMessage> = {
        stream: false,
        service: route.service,
        method: route.method,
        requestMethod: ctx.requestMethod,
        url: ctx.url,
        signal: ctx.signal,
        header: ctx.requestHeader,
        contextValues: ctx.values,
        message: parseFrame(body, route.method.input),
      };
      const last: CallFn = async (r) => {
        const out = await route.impl(r.message, ctx);
        const message = isMessage(out, route.method.output) ? out : create(route.method.output, out as MessageInitShape<DescMessage>);
        return { stream: false, service: route.service, method: route.method, header: ctx.responseHeader, trailer: ctx.responseTrailer, message };
      };
      // Interceptors wrap outermost-first, as Connect applies them.
      const res = await interceptors.reduceRight<CallFn>((next, i) => i(next), last)(req);
      if (res.stream) throw new ConnectError("an interceptor answered a unary call with a stream", Code.Internal);
      let payload: Uint8Array = toBinary(route.method.output, res.message);
      let compressed = false;
      if (payload.length > COMPRESS_MIN_BYTES && /\bgzip\b/.test(asString(headers["grpc-accept-encoding"]) ?? "")) {
        payload = await gzipAsync(payload);
        compressed = true;
      }
      finish(undefined, payload, res.header, res.trailer, compressed);
    } catch (err) {
      // As Connect: anything but a ConnectError is an internal error whose details stay on the server.
      finish(err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err), undefined, ctx.responseHeader, ctx.responseTrailer);
    } finally {
      clearTimeout(timer);
      running.delete(abort);
    }
  }

  return { register, tryHandle, size: () => routes.size };
}

function isUnary(m: DescMethod): m is DescMethodUnary<DescMessage, DescMessage> {
  return m.methodKind === "unary";
}

function readBody(stream: http2.ServerHttp2Stream, readMaxBytes: number, call: CallHooks | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // An empty body may have ended while the request gate ran.
    if (stream.readableEnded) return resolve(Buffer.alloc(0));
    let chunks: Buffer[] = [];
    let size = 0;
    /** Refuses without holding what was read; the error response then closes the stream. */
    const refuse = (error: ConnectError) => {
      chunks = [];
      stream.off("data", onData);
      stream.on("data", () => undefined);
      reject(error);
    };
    let announced = -1;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > readMaxBytes + 5) return refuse(new ConnectError(`message is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted));
      // As Connect: a message announced over the limit is refused before it is sent, not after.
      if (announced < 0 && size >= 5) {
        announced = (chunks.length === 0 ? c : Buffer.concat([...chunks, c])).readUInt32BE(1);
        if (announced > readMaxBytes) return refuse(new ConnectError(`message size ${announced} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted));
      }
      const refused = call?.accept(c);
      if (refused) return refuse(refused);
      chunks.push(c);
    };
    let ended = false;
    stream.on("data", onData);
    stream.once("end", () => {
      ended = true;
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
    stream.once("error", reject);
    // A stream reset without an error (the server's body deadline) must not leave the call waiting forever.
    stream.once("close", () => ended || reject(new ConnectError("the request body was not completed", Code.Canceled)));
  });
}

/** Exactly one uncompressed length-prefixed message (gRPC over HTTP/2, unary), with Connect's errors for anything else. */
function parseFrame<T extends DescMessage>(body: Buffer, schema: T) {
  if (body.length === 0) throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  if (body.length < 5) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  const length = body.readUInt32BE(1);
  if (body.length < 5 + length) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (body[0] & 1) throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.InvalidArgument);
  if (body.length > 5 + length) throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
  try {
    return fromBinary(schema, body.subarray(5));
  } catch (err) {
    // An undecodable body is the caller's error (connect-node says Internal; see serve.ts).
    throw new ConnectError(`parse binary: ${(err as Error).message}`, Code.InvalidArgument);
  }
}

function asString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(",") : v;
}

function withoutHopByHop(o: Record<string, string>): Record<string, string> {
  for (const k of Object.keys(o)) if (HOP_BY_HOP.has(k)) delete o[k];
  return o;
}

function toObject(h: Headers | undefined): Record<string, string> {
  const o: Record<string, string> = {};
  h?.forEach((v, k) => (o[k] = v));
  return o;
}
