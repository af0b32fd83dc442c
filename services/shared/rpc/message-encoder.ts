import { ScalarType, toBinary, type DescField, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { IMPLICIT, isSpecialWkt, LEGACY_REQUIRED, scalarZero } from "./codec-shapes.js";
import "./binary-writer.js";

/**
 * `toBinary` without reflection, for the messages we send on every call.
 *
 * protobuf-es's `toBinary` wraps every message and field value in reflection objects and decides per
 * field, at run time, how to test and write it: for a Cluster with its statuses that walk was most of
 * the encoding time. Here each message type is turned once into a list of small field writers that
 * test presence and write exactly as `toBinary` does (same order, same writer calls), so the bytes
 * are the same: message-encoder.test.ts compares them on every message of our API.
 *
 * The proto3 shapes our API uses are covered: scalars and enums with implicit presence, messages,
 * repeated fields (packed or not), maps with string keys, google.protobuf.Struct fields (which
 * protobuf-es holds as plain JSON) and unknown fields. A message type with anything else (oneofs,
 * explicit presence, groups, wrapper types, other map keys) is written by `toBinary` itself, as is
 * any message whose values `toBinary` would reject, so its error is the stock one.
 */
export function encodeMessage<D extends DescMessage>(schema: D, message: MessageShape<D>): Uint8Array {
  try {
    return encodeCompiled(schema, message);
  } catch {
    // toBinary writes what this does not compile, and reports a bad value in its own words.
    return toBinary(schema, message);
  }
}

/** The compiled path alone: throws where encodeMessage would hand over to toBinary (tests use it to prove the fast path ran). */
export function encodeCompiled<D extends DescMessage>(schema: D, message: MessageShape<D>): Uint8Array {
  const write = writerOf(schema);
  if (!write) throw new Error(`${schema.typeName} is not compiled`);
  const w = new BinaryWriter();
  write(w, message as unknown as Msg);
  return w.finish();
}

type Msg = Record<string, unknown> & { $unknown?: { no: number; wireType: WireType; data: Uint8Array }[] };
type Write = (w: BinaryWriter, m: Msg) => void;

const compiled = new WeakMap<DescMessage, Write | null>();

/** The compiled writer of a message type; null when the type has a shape left to `toBinary`. */
function writerOf(desc: DescMessage): Write | null {
  let write = compiled.get(desc);
  if (write !== undefined) return write;
  compiled.set(desc, null); // a recursive type compiles against a placeholder: see `nested`
  write = compile(desc);
  compiled.set(desc, write);
  return write;
}

function compile(desc: DescMessage): Write | null {
  if (desc.oneofs.length > 0 || isSpecialWkt(desc.typeName)) return null;
  const fields: Write[] = [];
  for (const f of [...desc.fields].sort((a, b) => a.number - b.number)) {
    const fw = fieldWriter(f);
    if (!fw) return null;
    fields.push(fw);
  }
  const typeName = desc.typeName;
  return (w, m) => {
    // toBinary refuses another type's message (ForeignFieldError): so does this, and it answers that.
    if (m.$typeName !== typeName) throw new Error("foreign message");
    for (let i = 0; i < fields.length; i++) fields[i](w, m);
    const unknown = m.$unknown;
    if (unknown) for (const { no, wireType, data } of unknown) w.tag(no, wireType).raw(data);
  };
}

function fieldWriter(f: DescField): Write | null {
  if (f.oneof || (f as { delimitedEncoding?: boolean }).delimitedEncoding) return null;
  const name = f.localName;
  const no = f.number;
  switch (f.fieldKind) {
    case "scalar": {
      if (f.presence !== IMPLICIT) return null;
      const put = scalarPut(f.scalar);
      const wt = wireTypeOf(f.scalar);
      const zero = isZero(f.scalar);
      const zeroValue = scalarZero(f.scalar);
      return (w, m) => {
        const v = m[name];
        // As toBinary: undefined is "set" (it is not the zero value) and then read as the zero value.
        if (!zero(v)) put(w.tag(no, wt), v === undefined ? zeroValue : v);
      };
    }
    case "enum": {
      if (f.presence !== IMPLICIT) return null;
      const zero = f.enum.values[0].number;
      return (w, m) => {
        const v = m[name];
        if (v !== zero) w.tag(no, WireType.Varint).int32((v ?? zero) as number);
      };
    }
    case "message": {
      if (f.presence === LEGACY_REQUIRED) return null;
      if (f.message.typeName === "google.protobuf.Struct") {
        return (w, m) => {
          const v = m[name];
          if (v === undefined || !hasOwn(m, name)) return; // set means own, as toBinary has it
          if (!isPlainObject(v)) throw new Error("not a JSON object"); // toBinary's own path decides
          writeStruct(w.tag(no, WireType.LengthDelimited).fork(), v).join();
        };
      }
      if (isSpecialWkt(f.message.typeName)) return null;
      const sub = nested(f.message);
      return (w, m) => {
        const v = m[name];
        if (v === undefined || !hasOwn(m, name)) return;
        sub(w.tag(no, WireType.LengthDelimited).fork(), v as Msg);
        w.join();
      };
    }
    case "list": {
      if (f.listKind === "message") {
        if (isSpecialWkt(f.message.typeName)) return null;
        const sub = nested(f.message);
        return (w, m) => {
          const list = listOf(m[name]) as Msg[];
          for (let i = 0; i < list.length; i++) {
            sub(w.tag(no, WireType.LengthDelimited).fork(), list[i]);
            w.join();
          }
        };
      }
      const scalar = f.listKind === "enum" ? ScalarType.INT32 : f.scalar;
      const put = scalarPut(scalar);
      if (f.packed) {
        return (w, m) => {
          const list = listOf(m[name]);
          if (list.length === 0) return;
          w.tag(no, WireType.LengthDelimited).fork();
          for (let i = 0; i < list.length; i++) put(w, list[i]);
          w.join();
        };
      }
      const wt = wireTypeOf(scalar);
      return (w, m) => {
        const list = listOf(m[name]);
        for (let i = 0; i < list.length; i++) put(w.tag(no, wt), list[i]);
      };
    }
    case "map": {
      if (f.mapKey !== ScalarType.STRING) return null;
      let putValue: (w: BinaryWriter, v: unknown) => void;
      if (f.mapKind === "message") {
        if (isSpecialWkt(f.message.typeName)) return null;
        const sub = nested(f.message);
        putValue = (w, v) => {
          sub(w.tag(2, WireType.LengthDelimited).fork(), v as Msg);
          w.join();
        };
      } else {
        const scalar = f.mapKind === "enum" ? ScalarType.INT32 : f.scalar;
        const put = scalarPut(scalar);
        const wt = wireTypeOf(scalar);
        putValue = (w, v) => put(w.tag(2, wt), v);
      }
      return (w, m) => {
        const map = m[name] as Record<string, unknown>;
        // Object.keys, as toBinary: own keys in its order, and a TypeError for a map that is not there.
        const keys = Object.keys(map);
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i];
          w.tag(no, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(key);
          putValue(w, map[key]);
          w.join();
        }
      };
    }
  }
}

/**
 * The writer of a nested message type, looked up on first use: a type that refers to itself (or to a
 * type still being compiled) gets its writer once compilation has finished. A nested type left to
 * `toBinary` is written as its bytes, which is the same encoding.
 */
function nested(desc: DescMessage): Write {
  let write: Write | null | undefined;
  return (w, m) => {
    write ??= writerOf(desc) ?? ((w2, m2) => void w2.raw(toBinary(desc, m2 as never)));
    write(w, m);
  };
}

/** google.protobuf.Struct from the JSON object protobuf-es holds: `map<string, Value> fields = 1`. */
function writeStruct(w: BinaryWriter, json: Record<string, unknown>): BinaryWriter {
  for (const [key, value] of Object.entries(json)) {
    // protobuf-es builds the Struct by assignment, where "__proto__" sets a prototype instead of a key.
    if (key === "__proto__") continue;
    w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(key);
    writeValue(w.tag(2, WireType.LengthDelimited).fork(), value as JsonValue).join();
    w.join();
  }
  return w;
}

/** google.protobuf.Value: `oneof kind { NullValue null_value = 1; double number_value = 2; string string_value = 3; bool bool_value = 4; Struct struct_value = 5; ListValue list_value = 6; }` */
function writeValue(w: BinaryWriter, json: JsonValue): BinaryWriter {
  switch (typeof json) {
    case "number":
      return w.tag(2, WireType.Bit64).double(json);
    case "string":
      return w.tag(3, WireType.LengthDelimited).string(json);
    case "boolean":
      return w.tag(4, WireType.Varint).bool(json);
    case "object":
      if (json === null) return w.tag(1, WireType.Varint).int32(0);
      if (Array.isArray(json)) {
        w.tag(6, WireType.LengthDelimited).fork();
        for (const item of json) writeValue(w.tag(1, WireType.LengthDelimited).fork(), item).join();
        return w.join();
      }
      return writeStruct(w.tag(5, WireType.LengthDelimited).fork(), json).join();
    default:
      return w; // protobuf-es leaves the kind unset for anything else
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const hasOwn = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

/** A repeated field's array; anything else (toBinary iterates it, and fails) goes to toBinary. */
function listOf(v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new Error("not an array");
  return v;
}

/** protobuf-es's isScalarZeroValue, per type. */
function isZero(type: ScalarType): (v: unknown) => boolean {
  switch (type) {
    case ScalarType.BOOL:
      return (v) => v === false;
    case ScalarType.STRING:
      return (v) => v === "";
    case ScalarType.BYTES:
      return (v) => v instanceof Uint8Array && !v.byteLength;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return (v) => Object.is(v, 0); // -0 is written
    default:
      return (v) => v == 0; // loose, as protobuf-es: 0, 0n and "0"
  }
}

function scalarPut(type: ScalarType): (w: BinaryWriter, v: unknown) => void {
  switch (type) {
    case ScalarType.STRING:
      return (w, v) => w.string(v as string);
    case ScalarType.BOOL:
      return (w, v) => w.bool(v as boolean);
    case ScalarType.DOUBLE:
      return (w, v) => w.double(v as number);
    case ScalarType.FLOAT:
      return (w, v) => w.float(v as number);
    case ScalarType.INT32:
      return (w, v) => w.int32(v as number);
    case ScalarType.INT64:
      return (w, v) => w.int64(v as bigint);
    case ScalarType.UINT64:
      return (w, v) => w.uint64(v as bigint);
    case ScalarType.FIXED64:
      return (w, v) => w.fixed64(v as bigint);
    case ScalarType.BYTES:
      return (w, v) => w.bytes(v as Uint8Array);
    case ScalarType.FIXED32:
      return (w, v) => w.fixed32(v as number);
    case ScalarType.SFIXED32:
      return (w, v) => w.sfixed32(v as number);
    case ScalarType.SFIXED64:
      return (w, v) => w.sfixed64(v as bigint);
    case ScalarType.SINT64:
      return (w, v) => w.sint64(v as bigint);
    case ScalarType.UINT32:
      return (w, v) => w.uint32(v as number);
    case ScalarType.SINT32:
      return (w, v) => w.sint32(v as number);
  }
}

function wireTypeOf(type: ScalarType): WireType {
  switch (type) {
    case ScalarType.BYTES:
    case ScalarType.STRING:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
    case ScalarType.FLOAT:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}
