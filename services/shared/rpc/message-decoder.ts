import { fromBinary, ScalarType, type DescField, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { StructSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { IMPLICIT, isSpecialWkt, scalarZeroFactory } from "./codec-shapes.js";

/**
 * `fromBinary` without reflection, for the messages we receive on every call: the twin of
 * message-encoder.ts. Each message type is compiled once into a zero-message factory and one field
 * reader per field number, which read exactly as `fromBinary` does (same reader calls, same merging
 * of a repeated message field, unknown fields kept in `$unknown`), so the result is the same message:
 * message-decoder.test.ts compares them on every message of our API, on unknown fields and on
 * malformed input.
 *
 * A message type with a shape our API does not use (oneofs, explicit presence, closed enums, groups,
 * wrapper types, 64-bit integers as strings, non-string map keys) is read by `fromBinary` itself, and
 * so is any input this reader finds odd (a Struct field seen twice, a wire type a Struct value should
 * not have, nesting past the recursion limit): `fromBinary` then answers, or fails with its own error.
 */
export function decodeMessage<D extends DescMessage>(schema: D, bytes: Uint8Array): MessageShape<D> {
  try {
    return decodeCompiled(schema, bytes);
  } catch {
    // fromBinary decides what this does not compile or finds odd, and words any error.
    return fromBinary(schema, bytes);
  }
}

/** The compiled path alone: throws where decodeMessage would hand over to fromBinary (tests use it to prove the fast path ran). */
export function decodeCompiled<D extends DescMessage>(schema: D, bytes: Uint8Array): MessageShape<D> {
  const type = typeOf(schema);
  if (!type) throw new Error(`${schema.typeName} is not compiled`);
  const r = new BinaryReader(bytes);
  return readMessage(type, r, r.len, 0, undefined) as MessageShape<D>;
}

type Msg = Record<string, unknown> & { $unknown?: { no: number; wireType: WireType; data: Uint8Array }[] };
type ReadField = (r: BinaryReader, m: Msg, wireType: WireType, depth: number) => void;
interface Compiled {
  zero: () => Msg;
  fields: Map<number, ReadField>;
}

/** fromBinary's default recursion limit. */
const RECURSION_LIMIT = 100;
const compiled = new WeakMap<DescMessage, Compiled | null>();

function typeOf(desc: DescMessage): Compiled | null {
  let type = compiled.get(desc);
  if (type !== undefined) return type;
  compiled.set(desc, null);
  type = compile(desc);
  compiled.set(desc, type);
  return type;
}

function readMessage(type: Compiled, r: BinaryReader, end: number, depth: number, into: Msg | undefined): Msg {
  if (++depth > RECURSION_LIMIT) throw new Error("recursion limit");
  const m = into ?? type.zero();
  let unknown = m.$unknown;
  while (r.pos < end) {
    const [no, wireType] = r.tag();
    const read = type.fields.get(no);
    if (read) read(r, m, wireType, depth);
    else (unknown ??= []).push({ no, wireType, data: r.skip(wireType, no, RECURSION_LIMIT - depth) });
  }
  if (unknown && unknown.length > 0) m.$unknown = unknown;
  return m;
}

function compile(desc: DescMessage): Compiled | null {
  if (desc.oneofs.length > 0 || isSpecialWkt(desc.typeName)) return null;
  const zeros: [string, () => unknown][] = [];
  const fields = new Map<number, ReadField>();
  for (const f of desc.fields) {
    const read = fieldReader(f);
    if (!read) return null;
    fields.set(f.number, read);
    const zero = zeroOf(f);
    if (zero) zeros.push([f.localName, zero]);
  }
  const typeName = desc.typeName;
  // The object create() makes: $typeName, then every field with implicit presence at its zero value.
  const zero = () => {
    const m: Msg = { $typeName: typeName };
    for (let i = 0; i < zeros.length; i++) m[zeros[i][0]] = zeros[i][1]();
    return m;
  };
  return { zero, fields };
}

function zeroOf(f: DescField): (() => unknown) | undefined {
  switch (f.fieldKind) {
    case "list":
      return () => [];
    case "map":
      return () => ({});
    case "enum": {
      const v = f.enum.values[0].number;
      return () => v;
    }
    case "scalar":
      return scalarZeroFactory(f.scalar);
    case "message":
      return undefined; // explicit presence: absent until read
  }
}

function fieldReader(f: DescField): ReadField | null {
  if (f.oneof || (f as { delimitedEncoding?: boolean }).delimitedEncoding) return null;
  const name = f.localName;
  switch (f.fieldKind) {
    case "scalar": {
      if (f.presence !== IMPLICIT || f.longAsString) return null;
      const get = scalarGet(f.scalar, f.utf8Validation);
      return (r, m) => void (m[name] = get(r));
    }
    case "enum":
      if (f.presence !== IMPLICIT || !f.enum.open) return null;
      return (r, m) => void (m[name] = r.int32());
    case "message": {
      if (f.message.typeName === "google.protobuf.Struct") {
        return (r, m, _wt, depth) => {
          if (m[name] !== undefined) throw new Error("Struct field seen twice"); // fromBinary merges them
          const len = r.uint32();
          m[name] = readStruct(r, r.pos + len, depth);
        };
      }
      if (isSpecialWkt(f.message.typeName)) return null;
      const sub = nested(f.message);
      return (r, m, _wt, depth) => {
        const len = r.uint32();
        // A message field seen again is merged into the one read before, as fromBinary does.
        m[name] = readMessage(sub(), r, r.pos + len, depth, m[name] as Msg | undefined);
      };
    }
    case "list": {
      if (f.listKind === "message") {
        if (isSpecialWkt(f.message.typeName)) return null;
        const sub = nested(f.message);
        return (r, m, _wt, depth) => {
          const len = r.uint32();
          (m[name] as Msg[]).push(readMessage(sub(), r, r.pos + len, depth, undefined));
        };
      }
      if (f.listKind === "scalar" && f.longAsString) return null;
      const scalar = f.listKind === "enum" ? ScalarType.INT32 : f.scalar;
      const get = scalarGet(scalar, f.utf8Validation);
      const packable = scalar !== ScalarType.STRING && scalar !== ScalarType.BYTES;
      return (r, m, wireType) => {
        const list = m[name] as unknown[];
        if (!(packable && wireType === WireType.LengthDelimited)) return void list.push(get(r));
        const end = r.uint32() + r.pos;
        while (r.pos < end) list.push(get(r));
      };
    }
    case "map": {
      if (f.mapKey !== ScalarType.STRING) return null;
      const getKey = scalarGet(ScalarType.STRING, f.utf8Validation);
      let getValue: (r: BinaryReader, depth: number) => unknown;
      let zeroValue: () => unknown;
      if (f.mapKind === "message") {
        if (isSpecialWkt(f.message.typeName)) return null;
        const sub = nested(f.message);
        getValue = (r, depth) => {
          const len = r.uint32();
          return readMessage(sub(), r, r.pos + len, depth, undefined);
        };
        zeroValue = () => sub().zero();
      } else if (f.mapKind === "enum") {
        getValue = (r) => r.int32();
        const v = f.enum.values[0].number;
        zeroValue = () => v;
      } else {
        const get = scalarGet(f.scalar, f.utf8Validation);
        getValue = (r) => get(r);
        zeroValue = scalarZeroFactory(f.scalar);
      }
      return (r, m, _wt, depth) => {
        const len = r.uint32();
        const end = r.pos + len;
        let key: string | undefined;
        let value: unknown;
        while (r.pos < end) {
          // As fromBinary: fields other than 1 and 2 are not skipped (a valid entry has none).
          const [no] = r.tag();
          if (no === 1) key = getKey(r) as string;
          else if (no === 2) value = getValue(r, depth);
        }
        (m[name] as Record<string, unknown>)[key ?? ""] = value === undefined ? zeroValue() : value;
      };
    }
  }
}

/** The compiled type of a nested message, looked up when first read (so types may refer to each other). */
function nested(desc: DescMessage): () => Compiled {
  let type: Compiled | undefined;
  return () => {
    if (type) return type;
    const t = typeOf(desc);
    if (!t) throw new Error(`${desc.typeName} is read by fromBinary`);
    return (type = t);
  };
}

const STRUCT_KEY_UTF8 = StructSchema.fields[0].utf8Validation;
const VALUE_STRING_UTF8 = ValueSchema.field.stringValue.utf8Validation;

/**
 * A google.protobuf.Struct as the JSON object protobuf-es holds for a Struct field. Unknown fields
 * inside it are dropped, as protobuf-es's conversion drops them; odd input goes to fromBinary.
 */
function readStruct(r: BinaryReader, end: number, depth: number): Record<string, JsonValue> {
  if (++depth > RECURSION_LIMIT) throw new Error("recursion limit");
  const json: Record<string, JsonValue> = {};
  while (r.pos < end) {
    const [no, wireType] = r.tag();
    if (no !== 1) {
      r.skip(wireType, no, RECURSION_LIMIT - depth);
      continue;
    }
    if (wireType !== WireType.LengthDelimited) throw new Error("odd Struct entry");
    const entryEnd = r.uint32() + r.pos;
    let key = "";
    let value: JsonValue = null;
    while (r.pos < entryEnd) {
      const [eno, ewt] = r.tag();
      if (eno === 1 && ewt === WireType.LengthDelimited) key = r.string(STRUCT_KEY_UTF8);
      else if (eno === 2 && ewt === WireType.LengthDelimited) {
        const len = r.uint32();
        value = readValue(r, r.pos + len, depth + 1);
      } else throw new Error("odd Struct entry");
    }
    // protobuf-es fills the Struct's map by assignment, where "__proto__" sets a prototype (which its
    // JSON conversion then ignores) instead of a key: the entry is dropped, never made a prototype.
    if (key !== "__proto__") json[key] = value;
  }
  return json;
}

/** A google.protobuf.Value as JSON (no kind set reads as null, as protobuf-es has it). */
function readValue(r: BinaryReader, end: number, depth: number): JsonValue {
  if (depth > RECURSION_LIMIT) throw new Error("recursion limit");
  let value: JsonValue = null;
  let seen = false;
  while (r.pos < end) {
    const [no, wireType] = r.tag();
    if (no < 1 || no > 6) {
      r.skip(wireType, no, RECURSION_LIMIT - depth);
      continue;
    }
    if (seen) throw new Error("Value kind seen twice"); // fromBinary merges a repeated struct or list
    seen = true;
    if (no === 1 && wireType === WireType.Varint) r.int32(); // null_value: the value stays null
    else if (no === 2 && wireType === WireType.Bit64) value = r.double();
    else if (no === 3 && wireType === WireType.LengthDelimited) value = r.string(VALUE_STRING_UTF8);
    else if (no === 4 && wireType === WireType.Varint) value = r.bool();
    else if (no === 5 && wireType === WireType.LengthDelimited) {
      const len = r.uint32();
      value = readStruct(r, r.pos + len, depth);
    } else if (no === 6 && wireType === WireType.LengthDelimited) {
      // The ListValue is a message of its own, one level below this Value.
      if (depth + 1 > RECURSION_LIMIT) throw new Error("recursion limit");
      const listEnd = r.uint32() + r.pos;
      const list: JsonValue[] = [];
      while (r.pos < listEnd) {
        const [lno, lwt] = r.tag();
        if (lno !== 1) {
          r.skip(lwt, lno, RECURSION_LIMIT - (depth + 1));
          continue;
        }
        if (lwt !== WireType.LengthDelimited) throw new Error("odd ListValue");
        const len = r.uint32();
        list.push(readValue(r, r.pos + len, depth + 2));
      }
      value = list;
    } else throw new Error("odd Value");
  }
  return value;
}

function scalarGet(type: ScalarType, utf8: boolean): (r: BinaryReader) => unknown {
  switch (type) {
    case ScalarType.STRING:
      return (r) => r.string(utf8);
    case ScalarType.BOOL:
      return (r) => r.bool();
    case ScalarType.DOUBLE:
      return (r) => r.double();
    case ScalarType.FLOAT:
      return (r) => r.float();
    case ScalarType.INT32:
      return (r) => r.int32();
    case ScalarType.INT64:
      return (r) => r.int64();
    case ScalarType.UINT64:
      return (r) => r.uint64();
    case ScalarType.FIXED64:
      return (r) => r.fixed64();
    case ScalarType.BYTES:
      return (r) => r.bytes();
    case ScalarType.FIXED32:
      return (r) => r.fixed32();
    case ScalarType.SFIXED32:
      return (r) => r.sfixed32();
    case ScalarType.SFIXED64:
      return (r) => r.sfixed64();
    case ScalarType.SINT64:
      return (r) => r.sint64();
    case ScalarType.UINT32:
      return (r) => r.uint32();
    case ScalarType.SINT32:
      return (r) => r.sint32();
  }
}
