/**
 * Protobuf wire encoding by hand, for messages no encoder would write: nesting thousands of levels
 * deep (built iteratively, so the sender's own stack is never at risk), wrong wire types, overlong
 * varints and groups that never end.
 */

/** A base-128 varint; negative numbers as their 64-bit two's complement (10 bytes), as int64 fields carry them. */
export function varint(value: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

export const WIRE = { varint: 0, fixed64: 1, len: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

export function tag(field: number, wire: number): Buffer {
  return varint((field << 3) | wire);
}

/** A length-delimited field (string, bytes or message). */
export function lenField(field: number, bytes: Uint8Array | string): Buffer {
  const b = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : Buffer.from(bytes);
  return Buffer.concat([tag(field, WIRE.len), varint(b.length), b]);
}

export function varintField(field: number, value: number | bigint): Buffer {
  return Buffer.concat([tag(field, WIRE.varint), varint(value)]);
}

/**
 * A google.protobuf.Struct nested `depth` levels: {"a": {"a": ... {}}} (Value.struct_value = 5), or
 * through lists, [[...[]]] inside {"a": ...} (Value.list_value = 6, ListValue.values = 1).
 */
export function deepStruct(depth: number, through: "struct" | "list" = "struct"): Buffer {
  if (through === "struct") {
    let struct: Buffer = Buffer.alloc(0);
    for (let i = 0; i < depth; i++) {
      const value = lenField(5, struct);
      struct = lenField(1, Buffer.concat([lenField(1, "a"), lenField(2, value)]));
    }
    return struct;
  }
  let value: Buffer = lenField(6, Buffer.alloc(0));
  for (let i = 1; i < depth; i++) value = lenField(6, lenField(1, value));
  return lenField(1, Buffer.concat([lenField(1, "a"), lenField(2, value)]));
}

/** The JSON text of a value nested `depth` levels deep, as objects or arrays. */
export function deepJson(depth: number, through: "struct" | "list" = "struct"): string {
  return through === "struct" ? `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}` : `${"[".repeat(depth)}1${"]".repeat(depth)}`;
}
