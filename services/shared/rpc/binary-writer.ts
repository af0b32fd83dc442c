import { protoInt64 } from "@bufbuild/protobuf";
import { BinaryWriter, FLOAT32_MAX, FLOAT32_MIN, INT32_MAX, INT32_MIN, UINT32_MAX } from "@bufbuild/protobuf/wire";

/**
 * A faster body for protobuf-es's BinaryWriter, which `toBinary` uses for every message we send.
 *
 * The stock writer collects bytes in a JS number array and, for every nested message (each
 * condition, timestamp, map entry and Struct value), copies them into a fresh Uint8Array and then
 * into its parent: in the API's fleet-convergence profile its `finish`/`raw` and the garbage they
 * leave were the largest cost after the socket writes. This writer appends to one growing
 * Uint8Array; a nested message is written in place and, when it ends, shifted right by the size of
 * its length prefix. Output is byte-identical (tested against the stock writer); the value checks
 * and their error messages are the stock ones.
 *
 * protobuf-es offers no hook for the writer (`toBinary` calls `new BinaryWriter()`), so the methods
 * are replaced on its prototype. State lives in fields of our own; the stock constructor's empty
 * arrays are left unused.
 */
interface State {
  /** Bytes written so far (capacity b.length). */
  b: Uint8Array;
  /** Write position. */
  p: number;
  /** DataView over b, for fixed-width numbers. */
  v: DataView;
  /** Start positions of open forks. */
  s: number[];
  encodeUtf8: (text: string) => Uint8Array;
}
type W = State & Record<string, unknown>;

const INITIAL = 256;

function room(w: W, n: number): Uint8Array {
  let b = w.b;
  if (b === undefined) {
    b = w.b = new Uint8Array(Math.max(INITIAL, n * 2));
    w.v = new DataView(b.buffer);
    w.p = 0;
    w.s = [];
  } else if (w.p + n > b.length) {
    const grown = new Uint8Array(Math.max(b.length * 2, w.p + n));
    grown.set(b.subarray(0, w.p));
    b = w.b = grown;
    w.v = new DataView(b.buffer);
  }
  return b;
}

function varint32(w: W, value: number): void {
  const b = room(w, 10);
  let p = w.p;
  if (value >= 0) {
    while (value > 0x7f) {
      b[p++] = (value & 0x7f) | 0x80;
      value = value >>> 7;
    }
    b[p++] = value;
  } else {
    // A negative int32 is sign-extended to ten bytes, as protobuf requires.
    for (let i = 0; i < 9; i++) {
      b[p++] = (value & 127) | 128;
      value = value >> 7;
    }
    b[p++] = 1;
  }
  w.p = p;
}

/** protobuf-es's varint64write, into the buffer. */
function varint64(w: W, lo: number, hi: number): void {
  const b = room(w, 10);
  let p = w.p;
  try {
    for (let i = 0; i < 28; i = i + 7) {
      const shift = lo >>> i;
      const hasNext = !(shift >>> 7 == 0 && hi == 0);
      b[p++] = (hasNext ? shift | 0x80 : shift) & 0xff;
      if (!hasNext) return;
    }
    const splitBits = ((lo >>> 28) & 0x0f) | ((hi & 0x07) << 4);
    const hasMoreBits = !(hi >> 3 == 0);
    b[p++] = (hasMoreBits ? splitBits | 0x80 : splitBits) & 0xff;
    if (!hasMoreBits) return;
    for (let i = 3; i < 31; i = i + 7) {
      const shift = hi >>> i;
      const hasNext = !(shift >>> 7 == 0);
      b[p++] = (hasNext ? shift | 0x80 : shift) & 0xff;
      if (!hasNext) return;
    }
    b[p++] = (hi >>> 31) & 0x01;
  } finally {
    w.p = p;
  }
}

function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** Writes `size` bytes through the DataView: the fixed-width numbers, little-endian. */
function fixed(w: W, size: number, write: (v: DataView, at: number) => void): W {
  room(w, size);
  write(w.v, w.p);
  w.p += size;
  return w;
}

function fixed64(w: W, tc: { lo: number; hi: number }): W {
  return fixed(w, 8, (v, at) => {
    v.setInt32(at, tc.lo, true);
    v.setInt32(at + 4, tc.hi, true);
  });
}

function raw(w: W, chunk: Uint8Array): void {
  const b = room(w, chunk.length);
  b.set(chunk, w.p);
  w.p += chunk.length;
}

// The stock writer's value checks, with its messages.
function assertInt32(arg: unknown): void {
  if (typeof arg == "string") arg = Number(arg);
  else if (typeof arg != "number") throw new Error("invalid int32: " + typeof arg);
  if (!Number.isInteger(arg) || (arg as number) > INT32_MAX || (arg as number) < INT32_MIN) throw new Error("invalid int32: " + arg);
}
function assertUInt32(arg: unknown): void {
  if (typeof arg == "string") arg = Number(arg);
  else if (typeof arg != "number") throw new Error("invalid uint32: " + typeof arg);
  if (!Number.isInteger(arg) || (arg as number) > UINT32_MAX || (arg as number) < 0) throw new Error("invalid uint32: " + arg);
}
function assertFloat32(arg: unknown): void {
  if (typeof arg == "string") {
    const o = arg;
    arg = Number(arg);
    if (Number.isNaN(arg) && o !== "NaN") throw new Error("invalid float32: " + o);
  } else if (typeof arg != "number") throw new Error("invalid float32: " + typeof arg);
  if (Number.isFinite(arg) && ((arg as number) > FLOAT32_MAX || (arg as number) < FLOAT32_MIN)) throw new Error("invalid float32: " + arg);
}

const methods = {
  finish(this: W): Uint8Array {
    if (this.b === undefined) return new Uint8Array(0);
    // As the stock writer: the bytes of the innermost open fork (all of them when none is open).
    const start = this.s.length > 0 ? this.s[this.s.length - 1] : 0;
    const out = this.b.slice(start, this.p);
    this.p = start;
    return out;
  },
  fork(this: W) {
    room(this, 0);
    this.s.push(this.p);
    return this;
  },
  join(this: W) {
    const start = this.s?.pop();
    if (start === undefined) {
      // The stock writer drops what was written before it throws.
      if (this.b !== undefined) this.p = 0;
      throw new Error("invalid state, fork stack empty");
    }
    const len = this.p - start;
    const n = varintSize(len);
    const b = room(this, n);
    b.copyWithin(start + n, start, this.p);
    let value = len;
    let p = start;
    while (value > 0x7f) {
      b[p++] = (value & 0x7f) | 0x80;
      value = value >>> 7;
    }
    b[p] = value;
    this.p += n;
    return this;
  },
  tag(this: W, fieldNo: number, type: number) {
    const value = ((fieldNo << 3) | type) >>> 0;
    assertUInt32(value);
    varint32(this, value);
    return this;
  },
  raw(this: W, chunk: Uint8Array) {
    raw(this, chunk);
    return this;
  },
  uint32(this: W, value: number) {
    assertUInt32(value);
    varint32(this, value);
    return this;
  },
  int32(this: W, value: number) {
    assertInt32(value);
    varint32(this, value);
    return this;
  },
  bool(this: W, value: boolean) {
    const b = room(this, 1);
    b[this.p++] = value ? 1 : 0;
    return this;
  },
  bytes(this: W, value: Uint8Array) {
    assertUInt32(value.byteLength); // as stock: something other than bytes fails here, not with a corrupt length
    varint32(this, value.byteLength);
    raw(this, value);
    return this;
  },
  string(this: W, value: string) {
    // ASCII (all our ids, names, reasons, timestamps) is copied straight into place; anything else
    // goes through the configured UTF-8 encoder.
    const n = value.length;
    if (n < 0x80) {
      const b = room(this, n + 1);
      let p = this.p + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c > 0x7f) break;
        b[p++] = c;
      }
      if (i === n) {
        b[this.p] = n;
        this.p = p;
        return this;
      }
    }
    const chunk = this.encodeUtf8(value);
    varint32(this, chunk.byteLength);
    raw(this, chunk);
    return this;
  },
  float(this: W, value: number) {
    assertFloat32(value);
    return fixed(this, 4, (v, at) => v.setFloat32(at, value, true));
  },
  double(this: W, value: number) {
    return fixed(this, 8, (v, at) => v.setFloat64(at, value, true));
  },
  fixed32(this: W, value: number) {
    assertUInt32(value);
    return fixed(this, 4, (v, at) => v.setUint32(at, value, true));
  },
  sfixed32(this: W, value: number) {
    assertInt32(value);
    return fixed(this, 4, (v, at) => v.setInt32(at, value, true));
  },
  sint32(this: W, value: number) {
    assertInt32(value);
    varint32(this, ((value << 1) ^ (value >> 31)) >>> 0);
    return this;
  },
  sfixed64(this: W, value: string | number | bigint) {
    return fixed64(this, protoInt64.enc(value));
  },
  fixed64(this: W, value: string | number | bigint) {
    return fixed64(this, protoInt64.uEnc(value));
  },
  int64(this: W, value: string | number | bigint) {
    const tc = protoInt64.enc(value);
    varint64(this, tc.lo, tc.hi);
    return this;
  },
  sint64(this: W, value: string | number | bigint) {
    const tc = protoInt64.enc(value);
    const sign = tc.hi >> 31;
    varint64(this, (tc.lo << 1) ^ sign, ((tc.hi << 1) | (tc.lo >>> 31)) ^ sign);
    return this;
  },
  uint64(this: W, value: string | number | bigint) {
    const tc = protoInt64.uEnc(value);
    varint64(this, tc.lo, tc.hi);
    return this;
  },
};

const stock = Object.fromEntries(Object.keys(methods).map((k) => [k, (BinaryWriter.prototype as unknown as Record<string, unknown>)[k]]));
let installed = false;

/** Puts the fast methods on BinaryWriter's prototype (once per process). */
export function installFastBinaryWriter(): void {
  if (installed) return;
  installed = true;
  Object.assign(BinaryWriter.prototype, methods);
}

/** Puts the stock methods back (for tests that compare the two). */
export function uninstallFastBinaryWriter(): void {
  if (!installed) return;
  installed = false;
  Object.assign(BinaryWriter.prototype, stock);
}

installFastBinaryWriter();
