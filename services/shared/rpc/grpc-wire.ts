import type http2 from "node:http2";

/** The longest a Node timer can wait; a longer deadline is treated as none (a timer would fire at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** One gRPC length-prefixed message: a compressed flag, the length (big-endian), the bytes. */
export function encodeFrame(payload: Uint8Array, compressed = false): Buffer {
  const frame = Buffer.allocUnsafe(5 + payload.length);
  frame[0] = compressed ? 1 : 0;
  frame.writeUInt32BE(payload.length, 1);
  frame.set(payload, 5);
  return frame;
}

/** Node's HTTP/2 headers as Fetch Headers, pseudo-headers (":path", ":status", ...) left out. */
export function headersFromHttp2(h: http2.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(":") || v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.append(k, String(one));
  }
  return out;
}
