import type http2 from "node:http2";
import { gzip } from "node:zlib";
import { promisify } from "node:util";
import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type HandlerContext, type Interceptor, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { respecHeaders } from "./grpc-message.js";

const gzipAsync = promisify(gzip);

/** Responses above this size are gzipped when the client accepts it (the size Connect also uses). */
const COMPRESS_MIN_BYTES = 1024;
/** Larger requests are refused, as gRPC's default limit does. */
const READ_MAX_BYTES = 4 * 1024 * 1024;

type UnaryFn = (request: unknown, ctx: HandlerContext) => unknown;

interface Route {
  service: DescService;
  method: DescMethod & { input: DescMessage; output: DescMessage };
  impl: UnaryFn;
}

/**
 * Unary calls over the gRPC protocol served straight from Node's HTTP/2 streams, the services' hot
 * path (every adapter and Sentinel call, every grpc-js or buf client). Measured on this project's
 * 2-core VM with h2load, a health check costs 0.41 ms of CPU through connect-node (its HTTP/2
 * compatibility layer and async-iterable pipeline) against 0.05 ms for a bare HTTP/2 response; the
 * API spent most of each GetCluster there. The same implementations, interceptors (logging,
 * metrics, error mapping) and Connect's own gRPC status encoding are used, so the wire behaviour is
 * Connect's; everything else (Connect and gRPC-Web protocols, compressed requests, streaming
 * methods, HTTP/1.1) still goes through connect-node.
 */
export function createFastUnary(interceptors: Interceptor[] = []) {
  const routes = new Map<string, Route>();

  /** Records a service's unary implementations (a partial implementation leaves the rest to Connect). */
  function register(service: DescService, impl: Record<string, unknown>): void {
    for (const method of service.methods) {
      const fn = impl[method.localName];
      if (method.methodKind === "unary" && typeof fn === "function") {
        routes.set(`/${service.typeName}/${method.name}`, { service, method: method as Route["method"], impl: fn.bind(impl) as UnaryFn });
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
  function tryHandle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean {
    const route = match(headers);
    if (!route) return false;
    void serve(stream, headers, route);
    return true;
  }

  async function serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, route: Route): Promise<void> {
    const abort = new AbortController();
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    // A reset or closed stream aborts the call; its errors are not ours to throw.
    stream.on("error", () => undefined);
    stream.once("close", () => {
      if (!done) abort.abort(new ConnectError("the client cancelled the call", Code.Canceled));
    });
    const finish = (error: ConnectError | undefined, payload?: Uint8Array, responseHeader?: Headers, trailer?: Headers, compressed = false) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (stream.destroyed || stream.closed) return;
      if (error) {
        // Trailers-only response, as Connect sends it (grpc-status, grpc-message, status details;
        // like Connect, not the error's metadata, which may hold another call's protocol headers).
        const t = setTrailerStatus(new Headers(trailer), error);
        stream.respond({ ":status": 200, "content-type": "application/grpc", ...respecHeaders(toObject(t)) }, { endStream: true });
        return;
      }
      const frame = Buffer.allocUnsafe(5 + payload!.length);
      frame[0] = compressed ? 1 : 0;
      frame.writeUInt32BE(payload!.length, 1);
      frame.set(payload!, 5);
      stream.respond(
        { ":status": 200, "content-type": "application/grpc", "grpc-accept-encoding": "gzip", ...(compressed ? { "grpc-encoding": "gzip" } : {}), ...toObject(responseHeader) },
        { waitForTrailers: true },
      );
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", ...toObject(trailer) }));
      stream.end(frame);
    };

    const deadline = parseTimeout(asString(headers["grpc-timeout"]) ?? null, Number.MAX_SAFE_INTEGER);
    if (deadline.error) return finish(deadline.error);
    if (deadline.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        const e = new ConnectError("the operation timed out", Code.DeadlineExceeded);
        abort.abort(e);
        finish(e);
      }, deadline.timeoutMs);
    }
    const started = Date.now();

    let body: Buffer;
    try {
      body = await readBody(stream);
    } catch (err) {
      return finish(ConnectError.from(err));
    }
    const requestHeader = new Headers();
    for (const [k, v] of Object.entries(headers)) {
      if (k.startsWith(":") || v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) requestHeader.append(k, one);
    }
    const url = `http://${asString(headers[":authority"]) ?? "localhost"}${headers[":path"]}`;
    const ctx: HandlerContext = {
      service: route.service,
      method: route.method,
      signal: abort.signal,
      timeoutMs: () => (deadline.timeoutMs === undefined ? undefined : deadline.timeoutMs - (Date.now() - started)),
      requestMethod: "POST",
      requestHeader,
      responseHeader: new Headers(),
      responseTrailer: new Headers(),
      protocolName: "grpc",
      values: createContextValues(),
      url,
    };
    try {
      const input = parseFrame(body, route.method.input);
      const last = async (req: UnaryRequest): Promise<UnaryResponse> => {
        const out = await route.impl(req.message, ctx);
        const message = isMessage(out, route.method.output) ? out : create(route.method.output, out as never);
        return { stream: false, service: route.service, method: route.method, header: ctx.responseHeader, trailer: ctx.responseTrailer, message } as unknown as UnaryResponse;
      };
      // Interceptors wrap outermost-first, as Connect applies them.
      const call = interceptors.reduceRight<(req: UnaryRequest) => Promise<UnaryResponse>>((next, i) => i(next as never) as never, last);
      const req = { stream: false, service: route.service, method: route.method, requestMethod: "POST", url, signal: abort.signal, header: requestHeader, contextValues: ctx.values, message: input } as unknown as UnaryRequest;
      const res = await call(req);
      let payload: Uint8Array = toBinary(route.method.output, res.message as never);
      let compressed = false;
      if (payload.length > COMPRESS_MIN_BYTES && /\bgzip\b/.test(asString(headers["grpc-accept-encoding"]) ?? "")) {
        payload = await gzipAsync(payload);
        compressed = true;
      }
      finish(undefined, payload, res.header, res.trailer, compressed);
    } catch (err) {
      // As Connect: anything but a ConnectError is an internal error whose details stay on the server.
      const e = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      finish(e, undefined, undefined, ctx.responseTrailer);
    }
  }

  return { register, tryHandle, size: () => routes.size };
}

function readBody(stream: http2.ServerHttp2Stream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("data", (c: Buffer) => {
      size += c.length;
      if (size > READ_MAX_BYTES) {
        reject(new ConnectError(`message larger than ${READ_MAX_BYTES} bytes`, Code.ResourceExhausted));
        stream.pause();
        return;
      }
      chunks.push(c);
    });
    stream.once("end", () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    stream.once("error", reject);
  });
}

/** Exactly one uncompressed length-prefixed message (gRPC over HTTP/2, unary), with Connect's errors for anything else. */
function parseFrame<T extends DescMessage>(body: Buffer, schema: T) {
  if (body.length === 0) throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  if (body.length < 5) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  const length = body.readUInt32BE(1);
  if (body.length < 5 + length) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (body[0] & 1) throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
  if (body.length > 5 + length) throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
  try {
    return fromBinary(schema, body.subarray(5));
  } catch (err) {
    throw new ConnectError(`parse binary: ${(err as Error).message}`, Code.Internal);
  }
}

function asString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(",") : v;
}

function toObject(h: Headers | undefined): Record<string, string> {
  const o: Record<string, string> = {};
  h?.forEach((v, k) => (o[k] = v));
  return o;
}
