/**
 * The leanest gRPC load generator we can write in Node: HTTP/2 spoken as raw frames over one TCP
 * connection, with a header block encoded once for every request, and nothing parsed of a response
 * beyond its frame headers. Node's own HTTP/2 client spends ~50 µs of CPU per call building stream
 * objects, header objects and events; on two cores shared with the API and Postgres that time is
 * taken from what it measures. pgbench's C client costs its database next to nothing, and so should
 * the client the API is compared with.
 *
 * What it speaks: the client preface and SETTINGS (stream windows at their maximum, no push), SETTINGS
 * and PING acknowledgements, and a connection WINDOW_UPDATE at the start and after every GiB received.
 * A call is one HEADERS frame and one DATA frame that ends the stream. It succeeds when its stream
 * ends after a DATA frame that holds a whole, uncompressed gRPC message whose first field is
 * `expectFirstField` (for ReportStatus: `stored = true`). The HyperFleet API sends no message on a
 * failure (trailers only, or headers then trailers), so a failure can never pass, though grpc-status
 * itself is not decoded (that would take an HPACK decoder). It does not follow the server's SETTINGS
 * or its flow-control windows: requests must fit one frame (16 KiB), and a server that refused more
 * streams would fail calls, never pass them. A load generator for our API, not a general client.
 */
import net from "node:net";

const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
const MAX_WINDOW = 2 ** 31 - 1;
/** The initial SETTINGS_MAX_FRAME_SIZE every HTTP/2 server accepts. */
const MAX_FRAME = 16_384;

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK string literal, not Huffman-coded (lengths below 127 only: ours are short). */
function hpackString(s: string): Buffer {
  const b = Buffer.from(s, "latin1");
  return Buffer.concat([hpackLength(b.length), b]);
}

/** A string's length as an HPACK integer with a 7-bit prefix (RFC 7541 §5.1), Huffman bit clear: a bearer token runs to hundreds of bytes. */
function hpackLength(n: number): Buffer {
  if (n < 127) return Buffer.from([n]);
  const out = [127];
  for (n -= 127; n >= 128; n >>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Buffer.from(out);
}

/**
 * The request's header block: static-table :method POST and :scheme http, then literals "without
 * indexing" (RFC 7541 §6.2.2), which leave the server's dynamic table alone, so one block serves
 * every request.
 */
function requestHeaderBlock(authority: string, path: string, extra: Record<string, string> = {}): Buffer {
  const literal = (name: string, value: string) => Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);
  return Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http
    Buffer.from([0x04]), // :path, name from the static table (index 4)
    hpackString(path),
    Buffer.from([0x01]), // :authority (index 1)
    hpackString(authority),
    literal("content-type", "application/grpc+proto"),
    literal("te", "trailers"),
    ...Object.entries(extra).map(([name, value]) => literal(name, value)),
  ]);
}

interface Pending {
  resolve(): void;
  reject(e: Error): void;
  ok: boolean;
}

/** Calls `path` on the server at `url` (http only), one gRPC message per call, framed by the caller. */
export function rawFramesCaller(url: string, path: string, expectFirstField?: Buffer, headers: Record<string, string> = {}) {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  socket.setNoDelay(true);
  const headerBlock = requestHeaderBlock(u.host, path, headers);
  const pending = new Map<number, Pending>();
  let nextStream = 1;
  let lost: Error | undefined;
  let received = 0;
  let corked = false;
  let buf: Buffer = Buffer.alloc(0);

  const settings = Buffer.alloc(12);
  settings.writeUInt16BE(0x2, 0); // ENABLE_PUSH
  settings.writeUInt32BE(0, 2);
  settings.writeUInt16BE(0x4, 6); // INITIAL_WINDOW_SIZE
  settings.writeUInt32BE(MAX_WINDOW, 8);
  const connWindow = Buffer.alloc(4);
  connWindow.writeUInt32BE(MAX_WINDOW - 65_535);
  socket.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"), frame(FRAME.SETTINGS, 0, 0, settings), frame(FRAME.WINDOW_UPDATE, 0, 0, connWindow)]));

  const fail = (err: Error) => {
    lost ??= err;
    for (const p of pending.values()) p.reject(lost);
    pending.clear();
  };
  socket.on("error", fail);
  socket.on("close", () => fail(new Error("HTTP/2 connection closed")));

  socket.on("data", (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let at = 0;
    while (buf.length - at >= 9) {
      const len = buf.readUIntBE(at, 3);
      if (buf.length - at < 9 + len) break;
      const type = buf[at + 3];
      const flags = buf[at + 4];
      const stream = buf.readUInt32BE(at + 5) & 0x7fffffff;
      const payload = buf.subarray(at + 9, at + 9 + len);
      at += 9 + len;
      if (type === FRAME.SETTINGS && !(flags & FLAG.ACK)) socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0)));
      else if (type === FRAME.PING && !(flags & FLAG.ACK)) socket.write(frame(FRAME.PING, FLAG.ACK, 0, Buffer.from(payload)));
      else if (type === FRAME.GOAWAY) fail(new Error(`GOAWAY, error code ${payload.readUInt32BE(4)}`));
      else if (type === FRAME.RST_STREAM) {
        pending.get(stream)?.reject(new Error(`stream reset, error code ${payload.readUInt32BE(0)}`));
        pending.delete(stream);
      } else if (type === FRAME.DATA || type === FRAME.HEADERS) {
        const p = pending.get(stream);
        if (type === FRAME.DATA) {
          received += len;
          // One whole, uncompressed message (flag 0, its length as announced), starting as expected.
          if (p && len >= 5 && payload[0] === 0 && payload.readUInt32BE(1) === len - 5 && (!expectFirstField || payload.subarray(5, 5 + expectFirstField.length).equals(expectFirstField))) p.ok = true;
        }
        if (p && flags & FLAG.END_STREAM) {
          pending.delete(stream);
          if (p.ok) p.resolve();
          else p.reject(new Error("the call ended without the expected response (a gRPC error)"));
        }
      }
    }
    buf = at === buf.length ? Buffer.alloc(0) : buf.subarray(at);
    // Give the connection window back long before it runs out.
    if (received > 2 ** 30) {
      const inc = Buffer.alloc(4);
      inc.writeUInt32BE(received);
      socket.write(frame(FRAME.WINDOW_UPDATE, 0, 0, inc));
      received = 0;
    }
  });

  return {
    /** One call with `grpcFrame` (a length-prefixed message) as its body. */
    call(grpcFrame: Buffer): Promise<void> {
      if (lost) return Promise.reject(lost);
      if (grpcFrame.length > MAX_FRAME) return Promise.reject(new Error(`request of ${grpcFrame.length} bytes: this caller sends one DATA frame of at most ${MAX_FRAME}`));
      const stream = nextStream;
      nextStream += 2;
      return new Promise<void>((resolve, reject) => {
        pending.set(stream, { resolve, reject, ok: false });
        // Calls made in one tick leave in one write, as Node's client (nghttp2) sends them.
        if (!corked) {
          corked = true;
          socket.cork();
          process.nextTick(() => {
            corked = false;
            socket.uncork();
          });
        }
        socket.write(Buffer.concat([frame(FRAME.HEADERS, FLAG.END_HEADERS, stream, headerBlock), frame(FRAME.DATA, FLAG.END_STREAM, stream, grpcFrame)]));
      });
    },
    close: () => new Promise<void>((r) => (socket.destroyed ? r() : socket.end(() => r()))),
  };
}
