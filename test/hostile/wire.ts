/**
 * Sends requests exactly as given (path, headers, body bytes) over HTTP/2 cleartext or HTTP/1.1 and
 * returns what came back, never throwing: hostile requests are sent raw because a real client would
 * refuse to send most of them, and would read a reset or a broken answer as its own error.
 */
import http from "node:http";
import http2 from "node:http2";
import type { RawResponse } from "./outcome.js";

export interface WireRequest {
  http: "h2" | "h1";
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** Our own deadline; the answer is then client_timeout. */
  timeoutMs?: number;
  /** Body bytes kept for reading (the rest is only counted). */
  keepBytes?: number;
}

export interface Wire {
  send(req: WireRequest): Promise<RawResponse>;
  /**
   * HTTP/2 connections that refused every new stream (RST_STREAM ENHANCE_YOUR_CALM) for POISONED_AFTER_MS
   * without closing: a connection the server will never serve again. Each is then replaced, as a client would.
   */
  poisoned(): number;
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_KEEP_BYTES = 256 * 1024;
const POISONED_AFTER_MS = 2000;

/** A sender to `baseUrl` over `sessions` HTTP/2 connections (replaced when the server closes one) and pooled HTTP/1.1 sockets. */
export function createWire(baseUrl: string, opts: { sessions?: number; h1Sockets?: number } = {}): Wire {
  const url = new URL(baseUrl);
  const pool: (http2.ClientHttp2Session | undefined)[] = new Array(opts.sessions ?? 4).fill(undefined);
  /** Per pool slot: when its connection started refusing every stream (unset once a stream is answered). */
  const refusingSince: (number | undefined)[] = new Array(pool.length).fill(undefined);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.h1Sockets ?? 32 });
  let next = 0;
  let poisoned = 0;

  /** Notes how the slot's connection treated a stream: answered, or refused with ENHANCE_YOUR_CALM. */
  function observe(i: number, own: http2.ClientHttp2Session, refused: boolean): void {
    if (pool[i] !== own) return;
    if (!refused) {
      refusingSince[i] = undefined;
      return;
    }
    const now = Date.now();
    refusingSince[i] ??= now;
    if (now - refusingSince[i]! > POISONED_AFTER_MS) {
      poisoned++;
      refusingSince[i] = undefined;
      pool[i] = undefined;
      own.destroy();
    }
  }

  function session(): { s: http2.ClientHttp2Session; i: number } {
    const i = next++ % pool.length;
    let s = pool[i];
    if (!s || s.closed || s.destroyed) {
      // Node's client counts a refused stream's unsent body against its session memory (default 10 MB)
      // and then resets every new stream with ENHANCE_YOUR_CALM: the attacker's client, not the server.
      s = http2.connect(baseUrl, { maxSessionMemory: 256 });
      const own = s;
      own.on("error", () => undefined);
      // A session the server is leaving takes no new streams: the next call opens another.
      own.on("goaway", () => {
        if (pool[i] === own) pool[i] = undefined;
      });
      pool[i] = own;
      refusingSince[i] = undefined;
    }
    return { s, i };
  }

  function sendH2(req: WireRequest): Promise<RawResponse> {
    const started = performance.now();
    const keep = req.keepBytes ?? DEFAULT_KEEP_BYTES;
    return new Promise((resolve) => {
      const res: RawResponse = { headers: {}, trailers: {}, body: Buffer.alloc(0), bodyBytes: 0, ms: 0 };
      const chunks: Buffer[] = [];
      let kept = 0;
      let stream: http2.ClientHttp2Stream;
      let slot: { s: http2.ClientHttp2Session; i: number };
      try {
        slot = session();
        stream = slot.s.request({ ":method": req.method, ":path": req.path, ...req.headers });
      } catch {
        resolve({ ...res, failure: "client_error", ms: performance.now() - started });
        return;
      }
      const timer = setTimeout(() => {
        res.failure = "client_timeout";
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }, req.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      stream.on("response", (h) => {
        res.status = Number(h[":status"]);
        res.headers = flat(h);
      });
      stream.on("trailers", (h) => (res.trailers = flat(h)));
      stream.on("data", (c: Buffer) => {
        res.bodyBytes += c.length;
        if (kept < keep) {
          chunks.push(c);
          kept += c.length;
        }
      });
      stream.on("error", () => undefined);
      stream.on("close", () => {
        clearTimeout(timer);
        res.body = Buffer.concat(chunks);
        if (stream.rstCode) res.rstCode = stream.rstCode;
        if (!res.failure && res.status === undefined) res.failure = stream.rstCode ? "reset" : "conn_reset";
        if (res.status !== undefined || stream.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM) observe(slot.i, slot.s, res.status === undefined);
        res.ms = performance.now() - started;
        resolve(res);
      });
      if (stream.writable) stream.end(req.body);
      else stream.end();
    });
  }

  function sendH1(req: WireRequest): Promise<RawResponse> {
    const started = performance.now();
    const keep = req.keepBytes ?? DEFAULT_KEEP_BYTES;
    return new Promise((resolve) => {
      const res: RawResponse = { headers: {}, trailers: {}, body: Buffer.alloc(0), bodyBytes: 0, ms: 0 };
      const chunks: Buffer[] = [];
      let kept = 0;
      let settled = false;
      const settle = (failure?: RawResponse["failure"]) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (failure && !res.failure) res.failure = failure;
        res.body = Buffer.concat(chunks);
        res.ms = performance.now() - started;
        resolve(res);
      };
      let r: http.ClientRequest;
      try {
        r = http.request({ host: url.hostname, port: url.port, method: req.method, path: req.path, headers: req.headers, agent });
      } catch {
        resolve({ ...res, failure: "client_error", ms: performance.now() - started });
        return;
      }
      const timer = setTimeout(() => {
        res.failure = "client_timeout";
        r.destroy();
        settle("client_timeout");
      }, req.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      r.on("response", (m) => {
        res.status = m.statusCode;
        res.headers = flat(m.headers);
        m.on("data", (c: Buffer) => {
          res.bodyBytes += c.length;
          if (kept < keep) {
            chunks.push(c);
            kept += c.length;
          }
        });
        m.on("end", () => {
          // gRPC over HTTP/1.1 sends its status in chunked-encoding trailers.
          res.trailers = flat(m.trailers);
          settle();
        });
        m.on("error", () => settle("conn_reset"));
        m.on("aborted", () => settle("conn_reset"));
      });
      // The server may answer (and close) before the whole body is written: the answer counts.
      r.on("error", () => setImmediate(() => settle(res.status === undefined ? "conn_reset" : undefined)));
      r.end(req.body);
    });
  }

  return {
    send: (req) => (req.http === "h2" ? sendH2(req) : sendH1(req)),
    poisoned: () => poisoned,
    close() {
      for (const s of pool) s?.destroy();
      agent.destroy();
    },
  };
}

function flat(h: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : String(v);
  return out;
}

/** A gRPC length-prefixed message (flag 0: uncompressed). */
export function envelope(payload: Uint8Array, flags = 0): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = flags;
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}

/** Headers each protocol's client sends, for a request over `http`. */
export function protocolHeaders(protocol: "grpc" | "grpc-web" | "connect-proto" | "connect-json"): Record<string, string> {
  switch (protocol) {
    case "grpc":
      return { "content-type": "application/grpc+proto", te: "trailers" };
    case "grpc-web":
      return { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
    case "connect-proto":
      return { "content-type": "application/proto", "connect-protocol-version": "1" };
    case "connect-json":
      return { "content-type": "application/json", "connect-protocol-version": "1" };
  }
}
