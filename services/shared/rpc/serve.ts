import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { DescService } from "@bufbuild/protobuf";
import type { Registry } from "prom-client";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { respecHeaders } from "./grpc-message.js";
import { registerHealth, type HealthCheck } from "./health.js";
import { registerReflection } from "./reflection.js";
import { createFastUnary, READ_MAX_BYTES } from "./fast-unary.js";

/** What a service contributes to its server. */
export interface ServeOptions {
  /** Registers the service's own handlers. */
  routes: (router: ConnectRouter) => void;
  /** The services `routes` registers, advertised by health and reflection. */
  services: DescService[];
  interceptors?: Interceptor[];
  /** Per-service health; SERVING when omitted. */
  health?: HealthCheck;
}

/** A server that has not started listening yet; `listen` resolves with the bound port. */
export interface RpcServer {
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, gives in-flight calls `graceMs` to finish, then drops the remaining connections. */
  close(graceMs?: number): Promise<void>;
}

const H2_PREFACE = "PRI * HTTP/2.0";

/**
 * One port for Connect, gRPC and gRPC-Web over HTTP/2 cleartext (prior knowledge), and Connect/gRPC-Web
 * over HTTP/1.1 for plain curl and browsers: the first bytes of each connection pick the protocol.
 * Health and reflection are always served.
 */
export function createRpcServer(opts: ServeOptions): RpcServer {
  const fast = process.env.GRPC_FAST_PATH === "false" ? undefined : createFastUnary(opts.interceptors);
  const connectHandler = connectNodeAdapter({
    interceptors: opts.interceptors,
    // The same request limit on both paths (Connect's own default is 4 GiB).
    readMaxBytes: READ_MAX_BYTES,
    routes(router) {
      // Every unary implementation registered with Connect is also served by the fast gRPC path.
      const both: ConnectRouter = fast
        ? Object.assign(Object.create(router) as ConnectRouter, {
            service(...args: Parameters<ConnectRouter["service"]>) {
              fast.register(args[0], args[1] as Record<string, unknown>);
              return router.service(...args);
            },
          })
        : router;
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
  // No request listener: each stream is either served by the fast unary path or handed to Connect
  // through the compatibility objects Node would otherwise build itself.
  const h2 = http2.createServer({});
  h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
    if (fast?.tryHandle(stream, headers)) return;
    handler(new http2.Http2ServerRequest(stream, headers, {}, rawHeaders), new http2.Http2ServerResponse(stream));
  });
  const h1 = http.createServer(handler);
  // HTTP/1.1 sockets with a request in progress; the others are idle and can go at once on close.
  const busy = new Set<net.Socket>();
  let closing = false;
  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    busy.add(socket);
    res.once("close", () => {
      busy.delete(socket);
      if (closing) socket.end();
    });
  });
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  const h2Sockets = new WeakSet<net.Socket>();
  const isH2 = (s: net.Socket) => h2Sockets.has(s);
  h2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  const front = net.createServer({ noDelay: true }, (socket) => {
    // Small RPC frames must not wait for Nagle's algorithm and the peer's delayed ACK (~40 ms stalls).
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // Until a protocol server owns the socket, its errors (a reset before the first byte) and its
    // silence (a client that never speaks) are ours to handle: neither may take the process down.
    const onEarlyError = () => socket.destroy();
    socket.on("error", onEarlyError);
    socket.setTimeout(10_000, () => socket.destroy());
    socket.once("data", (chunk: Buffer) => {
      socket.off("error", onEarlyError);
      socket.setTimeout(0);
      socket.on("error", () => undefined);
      socket.pause();
      socket.unshift(chunk);
      if (chunk.toString("latin1", 0, H2_PREFACE.length) === H2_PREFACE.slice(0, chunk.length)) {
        // The HTTP/2 session reads what is buffered on the next tick; resuming here would race it.
        h2Sockets.add(socket);
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    });
  });
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
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      closing = true;
      for (const s of sessions) s.close();
      for (const s of sockets) if (!busy.has(s) && !isH2(s)) s.end();
      const timer = setTimeout(() => {
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
      }, graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
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
