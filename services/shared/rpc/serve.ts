import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { performance } from "node:perf_hooks";
import { Code, ConnectError, createContextKey, createContextValues, type ConnectRouter, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { Registry } from "prom-client";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { respecHeaders } from "./grpc-message.js";
import { registerHealth, type HealthCheck } from "./health.js";
import { registerReflection } from "./reflection.js";
import { createFastUnary, READ_MAX_BYTES, type CallHooks } from "./fast-unary.js";
import { peerIdentityKey, peerIdentityOfSocket } from "./peer.js";

/**
 * What one client may hold of the process. Each bound has a default that keeps a service within its
 * heap and file budget under hostile traffic (docs/configuration.md, "RPC server"); a service's
 * config fills them from RPC_* variables (shared/config.ts rpcServerLimits).
 */
export interface RpcServerLimits {
  /** Open TCP connections; beyond it new ones are closed on accept. */
  maxConnections: number;
  /** Streams open at once on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused. */
  maxStreamsPerConnection: number;
  /**
   * Unary calls one HTTP/2 connection runs at once; more wait their turn in order. A burst on one
   * connection then cannot hold the event loop away from every other client's calls.
   */
  maxCallsPerConnection: number;
  /** Longest a call waits for its turn on its connection; then it is shed (Unavailable), so waits do not add up behind a slow backend. */
  maxTurnWaitMs: number;
  /** nghttp2's memory per HTTP/2 connection, in MB (Node's maxSessionMemory): beyond it new streams are refused. */
  sessionMemoryMb: number;
  /** Request header bytes: HTTP/1.1 answers 431 beyond it, HTTP/2 resets the stream (SETTINGS_MAX_HEADER_LIST_SIZE). */
  maxHeaderBytes: number;
  /** One request message; larger is ResourceExhausted (Connect's readMaxBytes), which no retry cures. */
  maxRequestBytes: number;
  /** Calls in progress in the process; beyond it a new call is shed (Unavailable) before its body is read. Health Check is exempt. */
  maxInFlight: number;
  /**
   * Request bytes held by calls in progress, beyond the first 64 KiB of each: a call whose body (or
   * the size it announces, which connect-node allocates up front) would take more is shed (Unavailable).
   */
  maxRequestBytesInFlight: number;
  /** A new connection must deliver its first bytes, and an HTTP/1.1 request its headers, within this. */
  headersTimeoutMs: number;
  /** A request's body must be complete this long after its headers, or its stream (HTTP/2) or connection (HTTP/1.1) is closed. */
  requestTimeoutMs: number;
  /** An HTTP/2 connection with no open stream, or an HTTP/1.1 connection between requests, is closed after this. */
  idleTimeoutMs: number;
}

export const RPC_SERVER_DEFAULTS: Readonly<RpcServerLimits> = {
  maxConnections: 1024,
  maxStreamsPerConnection: 100,
  maxCallsPerConnection: 16,
  maxTurnWaitMs: 1000,
  sessionMemoryMb: 10,
  maxHeaderBytes: 16 * 1024,
  maxRequestBytes: READ_MAX_BYTES,
  maxInFlight: 256,
  maxRequestBytesInFlight: 32 * 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 5 * 60_000,
};

/**
 * Each call's first bytes are not counted against maxRequestBytesInFlight, so small calls are never
 * refused for want of memory while large stalled bodies fill it (at most maxInFlight × this).
 */
const FREE_REQUEST_BYTES = 64 * 1024;

/**
 * The server's TLS material, PEM. With `ca`, every client must present a certificate that CA signed
 * (mTLS): the handshake fails otherwise, and the certificate's identity (peer.ts) reaches each call.
 */
export interface ServeTls {
  cert: string | Buffer;
  key: string | Buffer;
  /** The CA (or CAs, concatenated) that sign client certificates. */
  ca?: string | Buffer;
}

/** What a service contributes to its server. */
export interface ServeOptions {
  /** Registers the service's own handlers. */
  routes: (router: ConnectRouter) => void;
  /** The services `routes` registers, advertised by health and reflection. */
  services: DescService[];
  interceptors?: Interceptor[];
  /**
   * Runs once a call's headers are in, before its body is read, on every protocol (connect-node's
   * requestGate): the cheap place to refuse a call (authentication, load shedding). Throw a ConnectError.
   */
  requestGate?: (ctx: HandlerContext) => void | Promise<void>;
  /** Per-service health; SERVING when omitted. */
  health?: HealthCheck;
  /**
   * A method's own request size limit (at most `limits.maxRequestBytes`): beyond it the call is
   * ResourceExhausted as soon as the size is announced or has arrived, on every protocol.
   */
  maxRequestBytesFor?: (method: DescMethod) => number | undefined;
  /** Serve unary gRPC calls on the fast path (fast-unary.ts); false sends every call through connect-node. */
  fastPath?: boolean;
  /** Overrides of RPC_SERVER_DEFAULTS. */
  limits?: Partial<RpcServerLimits>;
  /** Serve over TLS only (ALPN h2 and http/1.1, TLS 1.2 at least); with `tls.ca`, mTLS. Without it: cleartext, as before. */
  tls?: ServeTls;
}

/** A server that has not started listening yet; `listen` resolves with the bound port. */
export interface RpcServer {
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, gives in-flight calls `graceMs` to finish, then drops the remaining connections. */
  close(graceMs?: number): Promise<void>;
}

/** What the server holds right now (for metrics and tests). */
export interface RpcServerStats {
  connections: number;
  /** HTTP/2 connections among them. */
  sessions: number;
  /** HTTP/2 streams open, on all connections. */
  streams: number;
  /** Calls holding an in-flight slot. */
  inFlight: number;
  /** Request bytes counted against maxRequestBytesInFlight. */
  requestBytes: number;
}

const H2_PREFACE = "PRI * HTTP/2.0";

/**
 * A call refused for load is Unavailable, as the API's own report queue refuses: retryable everywhere
 * (the adapters' and the Sentinel's retries, gRPC retry policies), while ResourceExhausted stays what
 * the Sentinel's page walk reads as "this request is too big", which a smaller one cures.
 */
function shed(reason: string): ConnectError {
  return new ConnectError(`the server is busy (${reason}); retry later`, Code.Unavailable);
}

/** The process-wide counters every call draws on. */
interface Load {
  readonly limits: RpcServerLimits;
  inFlight: number;
  bytes: number;
}

const callKey = createContextKey<Call | undefined>(undefined, { description: "the server's bookkeeping for this call" });

/**
 * One call's claim on the process: an in-flight slot (taken by the request gate, so on every
 * protocol and path) and the request bytes it holds, both given back exactly once when its stream
 * (HTTP/2) or response (HTTP/1.1) closes, however the call ended.
 */
class Call implements CallHooks {
  readonly values = createContextValues().set(callKey, this);
  private admitted = false;
  private slot = false;
  private ended = false;
  private received = 0;
  /** How far the body has said it will go: its content-length, or the end of the envelope being received. */
  private announced: number;
  private charged = 0;
  /** Reading gRPC/Connect envelope prefixes: where the next one starts, how many of its 5 bytes are in, its length so far. */
  private readonly enveloped: boolean;
  private nextPrefix = 0;
  private prefixBytes = 0;
  private length = 0;

  constructor(
    private readonly load: Load,
    contentType: string | undefined,
    contentLength: string | undefined,
    peer: string | undefined,
  ) {
    if (peer !== undefined) this.values.set(peerIdentityKey, peer);
    this.enveloped = contentType !== undefined && (contentType.startsWith("application/grpc") || contentType.startsWith("application/connect+"));
    const n = contentLength === undefined ? 0 : Number(contentLength);
    this.announced = Number.isSafeInteger(n) && n > 0 ? n : 0;
  }

  private refusal: ConnectError | undefined;

  /** The call is to be answered with this error when it reaches the gate. */
  refuse(error: ConnectError): void {
    this.refusal = error;
  }

  /** The request gate: a slot (unless it is the health check) and the bytes announced so far, or the call is shed. */
  admit(ctx: HandlerContext): void {
    if (this.refusal) throw this.refusal;
    // A call whose stream already closed would never give its slot back.
    if (this.ended) throw new ConnectError("the call ended before it started", Code.Canceled);
    // A call that streams for as long as its client stays (health Watch, reflection, a resource watch)
    // would hold a slot for hours: bounded by streams per connection and connections instead, and by
    // the service itself (the API's watchers).
    const counted = !isHealthCheck(ctx) && ctx.method.methodKind === "unary";
    if (counted && this.load.inFlight >= this.load.limits.maxInFlight) throw shed("too many calls in progress");
    // A refused call's body is then discarded, not counted (Connect drains a little of it over HTTP/1.1).
    if (!this.charge()) throw tooManyBytes();
    if (counted) {
      this.load.inFlight++;
      this.slot = true;
    }
    this.admitted = true;
  }

  accept(chunk: Buffer): ConnectError | undefined {
    if (this.ended) return undefined;
    const start = this.received;
    this.received += chunk.length;
    if (this.enveloped) this.scan(chunk, start);
    // Before the gate nobody reads the body, so at most a stream buffer's worth arrives; the gate charges it.
    return !this.admitted || this.charge() ? undefined : tooManyBytes();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.slot) this.load.inFlight--;
    this.load.bytes -= this.charged;
    this.charged = 0;
  }

  private charge(): boolean {
    const cap = this.load.limits.maxRequestBytes + 5;
    // A message announced over the size limit is refused for its size (ResourceExhausted) by the
    // reader, not shed: only what arrived counts.
    const announced = this.announced <= cap ? this.announced : 0;
    const need = Math.min(Math.max(this.received, announced), cap) - FREE_REQUEST_BYTES;
    if (need <= this.charged) return true;
    if (this.load.bytes + need - this.charged > this.load.limits.maxRequestBytesInFlight) return false;
    this.load.bytes += need - this.charged;
    this.charged = need;
    return true;
  }

  /** Reads each envelope's length prefix: connect-node allocates the announced length when the prefix arrives. */
  private scan(chunk: Buffer, start: number): void {
    for (let i = this.nextPrefix + this.prefixBytes - start; i < chunk.length; i++) {
      if (this.prefixBytes > 0) this.length = this.length * 256 + chunk[i];
      if (++this.prefixBytes === 5) {
        this.nextPrefix += 5 + this.length;
        this.announced = Math.max(this.announced, this.nextPrefix);
        this.prefixBytes = 0;
        this.length = 0;
        i = this.nextPrefix - start - 1;
      }
    }
  }
}

function tooManyBytes(): ConnectError {
  return shed("too many large requests in progress");
}

function isHealthCheck(ctx: HandlerContext): boolean {
  return ctx.service.typeName === Health.typeName && ctx.method.name === "Check";
}

/** connect-node reads the body from these; counting each chunk as Node pushes it bounds what Connect holds. */
class MeteredH2Request extends http2.Http2ServerRequest {
  constructor(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    rawHeaders: string[],
    readonly call: Call,
  ) {
    super(stream, headers, {}, rawHeaders);
  }
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    // A refused body's remaining bytes are dropped, not left buffered: "false" would pause the HTTP/2
    // stream, which Node then never closes (it waits for the body to be read to its end).
    if (this.destroyed) return true;
    const refused = Buffer.isBuffer(chunk) ? this.call.accept(chunk) : undefined;
    if (refused) {
      // The error reaches Connect's body read, which answers with it; the stream stays usable for that.
      this.destroy(refused);
      return true;
    }
    return super.push(chunk, encoding);
  }
}

class MeteredH1Request extends http.IncomingMessage {
  call: Call | undefined;
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    // Node closes the connection of an unfinished HTTP/1.1 request destroyed this way. A body with a
    // content-length rarely gets here: the request gate charges all of it, and answers if it cannot.
    const refused = Buffer.isBuffer(chunk) ? this.call?.accept(chunk) : undefined;
    if (refused) {
      this.destroy(refused);
      return false;
    }
    return super.push(chunk, encoding);
  }
}

/** One HTTP/1.1 connection's pending deadline: its next request's headers, or this request's body. */
interface H1Deadline {
  at: number;
  req?: http.IncomingMessage;
}

/** One HTTP/2 connection: its open streams, and since when it has had none. */
interface SessionState {
  open: number;
  idleSince: number;
  /** Unary calls running, and those waiting their turn (maxCallsPerConnection). */
  running: number;
  waiting: { start: () => void; since: number; call: Call }[];
  /** The identity of the connection's verified client certificate (mTLS), for each of its calls. */
  peer: string | undefined;
}

/**
 * One port for Connect, gRPC and gRPC-Web over HTTP/2 cleartext (prior knowledge), and Connect/gRPC-Web
 * over HTTP/1.1 for plain curl and browsers: the first bytes of each connection pick the protocol.
 * With `opts.tls` the port speaks TLS only: ALPN picks the protocol (the first bytes when the client
 * offers none), and with `tls.ca` each call carries its client certificate's identity (peer.ts).
 * `reloadTls` swaps the certificate (and client CA) for new connections; whether client certificates
 * are asked for at all is fixed at creation.
 * Health and reflection are always served. What any client can hold is bounded by `opts.limits`
 * (RpcServerLimits); `stats()` tells what is held.
 */
export function createRpcServer(opts: ServeOptions): RpcServer & { stats(): RpcServerStats; reloadTls(tls: ServeTls): void } {
  const limits: RpcServerLimits = { ...RPC_SERVER_DEFAULTS, ...opts.limits };
  const load: Load = { limits, inFlight: 0, bytes: 0 };
  const shutdown = new AbortController();
  // The in-flight limit lives in the gate, which both paths run before reading a body.
  const admit = (ctx: HandlerContext) => ctx.values.get(callKey)?.admit(ctx);
  // Each method's own request limit: Connect's readMaxBytes per method, the fast path's per route.
  const readMaxBytesOf = (m: DescMethod) => Math.min(opts.maxRequestBytesFor?.(m) ?? limits.maxRequestBytes, limits.maxRequestBytes);
  const serviceGate = opts.requestGate;
  const gate = serviceGate
    ? async (ctx: HandlerContext) => {
        admit(ctx);
        await serviceGate(ctx);
      }
    : admit;
  const fast = opts.fastPath === false ? undefined : createFastUnary({ interceptors: opts.interceptors, requestGate: gate, shutdownSignal: shutdown.signal, readMaxBytes: limits.maxRequestBytes });
  const connectHandler = connectNodeAdapter({
    interceptors: opts.interceptors,
    shutdownSignal: shutdown.signal,
    async requestGate(ctx) {
      undecodableIsInvalidArgument(ctx);
      await gate(ctx);
    },
    contextValues: (req) => ((req instanceof MeteredH2Request || req instanceof MeteredH1Request) && req.call ? req.call.values : createContextValues()),
    // The same request limit on both paths (Connect's own default is 4 GiB).
    readMaxBytes: limits.maxRequestBytes,
    routes(router) {
      // Every unary implementation registered with Connect is also served by the fast gRPC path.
      const both: ConnectRouter = fast
        ? Object.assign(Object.create(router) as ConnectRouter, {
            service(...args: Parameters<ConnectRouter["service"]>) {
              fast.register(args[0], args[1] as Record<string, unknown>, readMaxBytesOf);
              return withMethodLimits(router, args, readMaxBytesOf);
            },
          })
        : Object.assign(Object.create(router) as ConnectRouter, {
            service: (...args: Parameters<ConnectRouter["service"]>) => withMethodLimits(router, args, readMaxBytesOf),
          });
      opts.routes(both);
      registerHealth(both, opts.services.map((s) => s.typeName), opts.health ?? (() => undefined));
      registerReflection(router, [...opts.services, Health]);
    },
  });
  const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    const r = res as http.ServerResponse;
    const writeHead = r.writeHead.bind(r) as (status: number, headers?: Record<string, string>) => http.ServerResponse;
    const addTrailers = r.addTrailers.bind(r);
    r.writeHead = ((status: number, headers?: Record<string, string>) => writeHead(status, respecHeaders(headers))) as typeof r.writeHead;
    r.addTrailers = (headers) => addTrailers(respecHeaders(headers as Record<string, string>));
    connectHandler(req as http.IncomingMessage, r);
  };

  // The unary calls a connection's turn-taking applies to (health Check is exempt, like the in-flight limit).
  // Turns are taken only under contention: while few calls run in the process, a connection may run
  // more than its share (our own adapters send ~20 at once; capping them at 16 tripled a 300-cluster
  // convergence). Once many run, each connection gets maxCallsPerConnection and no more.
  let runningCalls = 0;
  const contended = Math.max(1, Math.floor(limits.maxInFlight / 4));
  const mayStart = (st: SessionState) => st.running < limits.maxCallsPerConnection || runningCalls < contended;
  const queuedPaths = new Set(opts.services.flatMap((svc) => svc.methods.filter((m) => m.methodKind === "unary").map((m) => `/${svc.typeName}/${m.name}`)));
  // Deadlines are checked by one sweep rather than a timer per call: the fast path's calls are tens of microseconds.
  const bodyDeadlines = new Map<http2.ServerHttp2Stream, number>();
  const h1Deadlines = new Map<net.Socket, H1Deadline>();
  const sessionStates = new Map<http2.Http2Session, SessionState>();
  let openStreams = 0;
  const sweepMs = Math.max(10, Math.min(1000, Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs, limits.idleTimeoutMs, limits.maxTurnWaitMs) / 4));
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const [stream, at] of bodyDeadlines) {
      if (stream.readableEnded) bodyDeadlines.delete(stream);
      if (now < at || stream.readableEnded) continue;
      // Headers in, body unfinished: the stream goes, the connection and its other streams stay.
      bodyDeadlines.delete(stream);
      // Already reset (an early answer) yet still open: Node waits for a body nobody reads any more.
      if (stream.closed) stream.destroy();
      else stream.close(http2.constants.NGHTTP2_CANCEL);
    }
    for (const [socket, d] of h1Deadlines) {
      if (now < d.at) continue;
      // HTTP/1.1 cannot drop one request: the connection goes.
      h1Deadlines.delete(socket);
      socket.destroy();
    }
    for (const [session, s] of sessionStates) {
      // Capacity freed elsewhere (another connection's calls ended) lets waiting calls start.
      while (s.waiting.length > 0 && mayStart(s)) s.waiting.shift()!.start();
      // Calls that waited too long for their turn are answered now: shed by the request gate.
      while (s.waiting.length > 0 && now - s.waiting[0].since > limits.maxTurnWaitMs) {
        const w = s.waiting.shift()!;
        w.call.refuse(shed(`waited more than ${limits.maxTurnWaitMs} ms for its turn on this connection`));
        w.start();
      }
      if (s.open > 0 || now - s.idleSince < limits.idleTimeoutMs) continue;
      // GOAWAY, then Node destroys the session as it has no stream left.
      s.idleSince = Infinity;
      session.close();
    }
  }, sweepMs);
  sweeper.unref();

  // No request listener: each stream is either served by the fast unary path or handed to Connect
  // through the compatibility objects Node would otherwise build itself.
  const h2 = http2.createServer({
    settings: { maxConcurrentStreams: limits.maxStreamsPerConnection, maxHeaderListSize: limits.maxHeaderBytes },
    maxSessionMemory: limits.sessionMemoryMb,
  });
  h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
    const state = sessionStates.get(stream.session!);
    const call = new Call(load, headers["content-type"], asString(headers["content-length"]), state?.peer);
    if (state) state.open++;
    openStreams++;
    // A body still to come must finish within the request deadline; a server-streaming call's request
    // is complete long before its response, which no deadline here limits. The sweep forgets a stream
    // whose body has ended (an "end" listener would cost every fast-path call).
    if (!stream.endAfterHeaders) bodyDeadlines.set(stream, performance.now() + limits.requestTimeoutMs);
    const dispatch = () => {
      if (fast?.tryHandle(stream, headers, call)) return;
      handler(new MeteredH2Request(stream, headers, rawHeaders, call), new http2.Http2ServerResponse(stream));
    };
    // Streaming calls (health Watch, reflection) and the health check are never queued.
    const queued = state !== undefined && queuedPaths.has(headers[":path"]?.split("?")[0] ?? "");
    let started = false;
    const start = () => {
      started = true;
      state!.running++;
      runningCalls++;
      dispatch();
    };
    stream.on("close", () => {
      bodyDeadlines.delete(stream);
      call.end();
      openStreams--;
      if (state && --state.open === 0) state.idleSince = performance.now();
      if (!queued) return;
      if (started) {
        state!.running--;
        runningCalls--;
        if (state!.waiting.length > 0 && mayStart(state!)) state!.waiting.shift()!.start();
      } else {
        const i = state!.waiting.findIndex((w) => w.start === start);
        if (i >= 0) state!.waiting.splice(i, 1);
      }
    });
    if (!queued) dispatch();
    else if (state!.waiting.length === 0 && mayStart(state!)) start();
    else state!.waiting.push({ start, since: performance.now(), call });
  });
  // Node applies headersTimeout and requestTimeout only to connections a listening http.Server accepted
  // itself; these are handed over by the front, so the deadlines are ours (h1Deadlines).
  const h1 = http.createServer<typeof MeteredH1Request>({ IncomingMessage: MeteredH1Request, maxHeaderSize: limits.maxHeaderBytes, keepAliveTimeout: limits.idleTimeoutMs });
  // HTTP/1.1 sockets with a request in progress; the others are idle and can go at once on close.
  const busy = new Set<net.Socket>();
  let closing = false;
  h1.on("request", (req: MeteredH1Request, res: http.ServerResponse) => {
    const socket = req.socket;
    const call = new Call(load, req.headers["content-type"], req.headers["content-length"], peers.get(socket));
    req.call = call;
    busy.add(socket);
    if (req.complete) h1Deadlines.delete(socket);
    else {
      h1Deadlines.set(socket, { at: performance.now() + limits.requestTimeoutMs, req });
      req.once("end", () => {
        if (h1Deadlines.get(socket)?.req === req) h1Deadlines.delete(socket);
      });
    }
    res.once("close", () => {
      call.end();
      busy.delete(socket);
      if (closing) socket.end();
      // The next request on this connection: idle for at most idleTimeoutMs, then its headers.
      else if (!socket.destroyed && req.complete) h1Deadlines.set(socket, { at: performance.now() + limits.idleTimeoutMs + limits.headersTimeoutMs });
    });
    handler(req, res);
  });
  // Connections handed to a protocol server or waiting for their first bytes (TLS: after the handshake).
  const sockets = new Set<net.Socket>();
  // Every accepted TCP connection, a TLS one still in its handshake included.
  const accepted = new Set<net.Socket>();
  // TLS connections whose client certificate was verified: its identity (peer.ts).
  const peers = new WeakMap<net.Socket, string>();
  const sessions = new Set<http2.Http2Session>();
  const h2Sockets = new WeakSet<net.Socket>();
  const isH2 = (s: net.Socket) => h2Sockets.has(s);
  h2.on("session", (s) => {
    sessions.add(s);
    // s.socket is Node's proxy of the TLS socket: its certificate is read once per connection, here.
    const peer = opts.tls && s.socket ? peerIdentityOfSocket(s.socket as tls.TLSSocket) : undefined;
    sessionStates.set(s, { open: 0, idleSince: performance.now(), running: 0, waiting: [], peer });
    s.once("close", () => {
      sessions.delete(s);
      sessionStates.delete(s);
    });
  });
  /**
   * A connection ready to speak HTTP (TLS: its handshake done) goes to the HTTP/2 or the HTTP/1.1
   * server: by its ALPN protocol, or without one (cleartext, or a TLS client that offered none) by its
   * first bytes, the HTTP/2 connection preface or not.
   */
  const handOver = (socket: net.Socket, alpn: string | false | null | undefined) => {
    // Small RPC frames must not wait for Nagle's algorithm and the peer's delayed ACK (~40 ms stalls).
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      h1Deadlines.delete(socket);
    });
    // Until a protocol server owns the socket, its errors (a reset before the first byte) and its
    // silence (a client that never speaks) are ours to handle: neither may take the process down.
    const onEarlyError = () => socket.destroy();
    socket.on("error", onEarlyError);
    socket.setTimeout(limits.headersTimeoutMs, () => socket.destroy());
    socket.once("data", (chunk: Buffer) => {
      socket.off("error", onEarlyError);
      socket.setTimeout(0);
      socket.on("error", () => undefined);
      socket.pause();
      socket.unshift(chunk);
      const http2Preface = alpn === "h2" || (alpn !== "http/1.1" && chunk.toString("latin1", 0, H2_PREFACE.length) === H2_PREFACE.slice(0, chunk.length));
      if (http2Preface) {
        // Node's HTTP/2 server answers a TLS connection without ALPN (alpnProtocol false) with an
        // HTTP/1.0 403 "Missing ALPN Protocol"; this client has shown it speaks HTTP/2 (prior
        // knowledge over TLS, as over cleartext), so it is served as if it had negotiated h2.
        if (alpn === false) (socket as tls.TLSSocket).alpnProtocol = "h2";
        // The HTTP/2 session reads what is buffered on the next tick; resuming here would race it.
        h2Sockets.add(socket);
        h2.emit("connection", socket);
      } else {
        h1Deadlines.set(socket, { at: performance.now() + limits.headersTimeoutMs });
        h1.emit("connection", socket);
        socket.resume();
      }
    });
  };
  const front = opts.tls ? createTlsFront(opts.tls, limits.headersTimeoutMs) : net.createServer({ noDelay: true });
  front.on("connection", (socket: net.Socket) => {
    accepted.add(socket);
    socket.once("close", () => accepted.delete(socket));
    if (!opts.tls) handOver(socket, undefined);
  });
  if (opts.tls) {
    front.on("secureConnection", (socket: tls.TLSSocket) => {
      // A handshake that completes once the server is closing is not served.
      if (closing) return void socket.destroy();
      const peer = peerIdentityOfSocket(socket);
      if (peer !== undefined) peers.set(socket, peer);
      handOver(socket, socket.alpnProtocol);
    });
    // A failed handshake (no or an untrusted client certificate, garbage, a reset) and one that did not
    // finish within headersTimeoutMs: Node only reports these, the socket is ours to close.
    front.on("tlsClientError", (_err: Error, socket: tls.TLSSocket) => socket.destroy());
  }
  // Beyond it Node closes new connections on accept: file descriptors and per-connection memory stay bounded.
  front.maxConnections = limits.maxConnections;
  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        front.once("error", reject);
        front.listen(port, host, () => {
          front.off("error", reject);
          // Accept errors (EMFILE under a connection flood) are transient: keep serving.
          front.on("error", () => undefined);
          resolve((front.address() as AddressInfo).port);
        });
      });
    },
    async close(graceMs = 5000) {
      shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable));
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      closing = true;
      for (const s of sessions) s.close();
      for (const s of sockets) if (!busy.has(s) && !isH2(s)) s.end();
      const timer = setTimeout(() => {
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
        // TLS connections still in their handshake (and any raw socket left behind by one).
        for (const s of accepted) s.destroy();
      }, graceMs);
      await closed;
      clearTimeout(timer);
      clearInterval(sweeper);
    },
    reloadTls(next: ServeTls) {
      if (!(front instanceof tls.Server)) throw new Error("this server was created without TLS");
      front.setSecureContext(secureContextOptions(next));
    },
    stats: () => ({ connections: accepted.size, sessions: sessions.size, streams: openStreams, inFlight: load.inFlight, requestBytes: load.bytes }),
  };
}

/** What a server's TLS context is made of: its certificate, and the CA its clients' certificates must chain to. */
function secureContextOptions(t: ServeTls): tls.SecureContextOptions {
  return { cert: t.cert, key: t.key, ca: t.ca, minVersion: "TLSv1.2" };
}

/**
 * The TLS listener: HTTP/2 or HTTP/1.1 by ALPN; with a client CA, a client certificate the CA signed
 * is required (mTLS). A handshake must finish within the headers timeout.
 */
function createTlsFront(t: ServeTls, handshakeTimeoutMs: number): tls.Server {
  const mtls = t.ca !== undefined;
  return tls.createServer({
    ...secureContextOptions(t),
    ALPNProtocols: ["h2", "http/1.1"],
    requestCert: mtls,
    rejectUnauthorized: mtls,
    handshakeTimeout: handshakeTimeoutMs,
    noDelay: true,
  });
}

function asString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Registers a service with Connect method by method, each with its own readMaxBytes (Connect answers
 * a larger body ResourceExhausted on every protocol). Methods the implementation leaves out are not
 * registered: a call to one is Unimplemented (HTTP 404) rather than Connect's "not implemented" status.
 */
function withMethodLimits(router: ConnectRouter, [service, impl, options]: Parameters<ConnectRouter["service"]>, readMaxBytesOf: (m: DescMethod) => number): ConnectRouter {
  const fns = impl as Record<string, unknown>;
  for (const method of service.methods) {
    const fn = fns[method.localName];
    if (typeof fn !== "function") continue;
    router.rpc(method, fn.bind(impl) as Parameters<ConnectRouter["rpc"]>[1], { ...options, readMaxBytes: readMaxBytesOf(method) });
  }
  return router;
}

/**
 * connect-node 2.3 answers a protobuf body it cannot decode (or decompress, or a compressed one without
 * an encoding) with Internal, a JSON body it cannot decode with InvalidArgument; all are the caller's mistake. The parse error reaches the
 * call's context (`abort(error)`) before it is written, on every protocol, so it is reclassified there.
 * Retire when connect-es makes binary parse errors InvalidArgument (docs/decisions/performance.md).
 */
/** Connect's Internal errors that describe the request body: undecodable, or compressed in a way it cannot undo. */
export function isCallersBadBody(message: string): boolean {
  return message.startsWith("parse binary:") || message === "received compressed envelope, but do not know how to decompress" || message.startsWith("decompression failed");
}

function undecodableIsInvalidArgument(ctx: HandlerContext): void {
  ctx.signal.addEventListener(
    "abort",
    () => {
      const e: unknown = ctx.signal.reason;
      if (e instanceof ConnectError && e.code === Code.Internal && isCallersBadBody(e.rawMessage)) {
        Object.defineProperty(e, "code", { value: Code.InvalidArgument });
      }
    },
    { once: true },
  );
}

/** A plain HTTP listener for /metrics (Prometheus text format) and /healthz. */
export function createMetricsServer(registry: Registry, ready: () => boolean = () => true): RpcServer {
  const server = http.createServer(async (req, res) => {
    if (req.url === "/metrics") {
      res.setHeader("Content-Type", registry.contentType);
      res.end(await registry.metrics());
    } else if (req.url === "/healthz") {
      res.statusCode = ready() ? 200 : 503;
      res.end(ready() ? "ok\n" : "not ready\n");
    } else {
      res.statusCode = 404;
      res.end("not found\n");
    }
  });
  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
