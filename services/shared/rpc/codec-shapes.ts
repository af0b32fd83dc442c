import { protoInt64, ScalarType } from "@bufbuild/protobuf";

/** What message-encoder.ts and message-decoder.ts both need to know of protobuf-es's message shapes. */

/** FeatureSet.FieldPresence values, as protobuf-es's DescField.presence holds them. */
export const IMPLICIT = 2;
export const LEGACY_REQUIRED = 3;

/**
 * Well-known types protobuf-es holds in another shape when they are a field's type (wrappers
 * unboxed, Struct as JSON) or that hold a oneof (Value): the codecs leave these to protobuf-es,
 * except Struct fields, which they read and write as JSON themselves.
 */
export function isSpecialWkt(typeName: string): boolean {
  return typeName.startsWith("google.protobuf.") && /Value$|^google\.protobuf\.(Struct|ListValue|Any)$/.test(typeName);
}

/** protobuf-es's scalarZeroValue: 64-bit integers as protoInt64 has them (bigint, or "0" without BigInt), fresh bytes each call. */
export function scalarZero(type: ScalarType): unknown {
  switch (type) {
    case ScalarType.STRING:
      return "";
    case ScalarType.BOOL:
      return false;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
    case ScalarType.SINT64:
      return protoInt64.zero;
    case ScalarType.BYTES:
      return new Uint8Array(0);
    default:
      return 0;
  }
}

/** A factory of a field's zero value: the same value each call, but fresh bytes (a decoded message owns its Uint8Array). */
export function scalarZeroFactory(type: ScalarType): () => unknown {
  if (type === ScalarType.BYTES) return () => new Uint8Array(0);
  const v = scalarZero(type);
  return () => v;
}
