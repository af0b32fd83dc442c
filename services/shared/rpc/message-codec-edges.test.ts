/**
 * encodeMessage / decodeMessage on the edges a review found them differing from toBinary / fromBinary
 * ("__proto__" in a Struct, -0 and undefined in number fields, absent maps, inherited or required
 * message fields, recursion limits inside ListValues, the writer's bytes()). Each test states the
 * contract: same bytes, same message, or the same error.
 */
import { create, createFileRegistry, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label as Label, FieldDescriptorProto_Type as Type, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { ClusterSchema, CreateClusterRequestSchema, ListClustersResponseSchema } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { encodeMessage } from "./message-encoder.js";
import { decodeMessage } from "./message-decoder.js";
import { installFastBinaryWriter, uninstallFastBinaryWriter } from "./binary-writer.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const outcome = (f: () => Uint8Array | object) => {
  try {
    const v = f();
    return v instanceof Uint8Array ? hex(v) : "decoded";
  } catch (e) {
    return `error: ${String(e)}`;
  }
};
/** encodeMessage must give toBinary's bytes, or toBinary's error. */
const sameEncoding = (schema: DescMessage, message: unknown) => expect(outcome(() => encodeMessage(schema, message as never))).toBe(outcome(() => toBinary(schema, message as never)));
/** decodeMessage must succeed exactly when fromBinary does. */
const sameDecoding = (schema: DescMessage, bytes: Uint8Array) => expect(outcome(() => decodeMessage(schema, bytes))).toBe(outcome(() => fromBinary(schema, bytes)));

// A proto3 message with implicit-presence double and float fields (none in our API, but the contract is "every message").
const numbers = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "review/numbers.proto",
    package: "review",
    syntax: "proto3",
    messageType: [
      {
        name: "Numbers",
        field: [
          { name: "d", jsonName: "d", number: 1, type: Type.DOUBLE, label: Label.OPTIONAL },
          { name: "f", jsonName: "f", number: 2, type: Type.FLOAT, label: Label.OPTIONAL },
        ],
      },
    ],
  }),
  () => undefined,
);
const NumbersSchema = numbers.getMessage("review.Numbers")!;

// A proto2 message whose only field is a required message field.
const legacy = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "review/legacy.proto",
    package: "review",
    syntax: "proto2",
    messageType: [
      { name: "Inner", field: [] },
      { name: "Outer", field: [{ name: "inner", jsonName: "inner", number: 1, type: Type.MESSAGE, typeName: ".review.Inner", label: Label.REQUIRED }] },
    ],
  }),
  () => undefined,
);
const OuterSchema = legacy.getMessage("review.Outer")!;

describe("encodeMessage against toBinary", () => {
  test('a Struct key "__proto__" (as JSON.parse makes it) is dropped, as toBinary drops it', () => {
    const spec = JSON.parse('{"__proto__": {"admin": true}, "region": "eu"}');
    sameEncoding(ClusterSchema, create(ClusterSchema, { id: "c1", spec }));
    sameEncoding(ClusterSchema, create(ClusterSchema, { spec: { nested: JSON.parse('{"__proto__": 1}') } }));
  });

  test("-0 in an implicit-presence double or float field is written, as toBinary writes it (Object.is)", () => {
    sameEncoding(NumbersSchema, create(NumbersSchema, { d: -0 }));
    sameEncoding(NumbersSchema, create(NumbersSchema, { f: -0 }));
  });

  test('a double field holding undefined, "0" or false is written as 0, as toBinary writes it', () => {
    sameEncoding(NumbersSchema, { ...create(NumbersSchema), d: undefined });
    sameEncoding(NumbersSchema, { ...create(NumbersSchema), d: "0" });
    sameEncoding(NumbersSchema, { ...create(NumbersSchema), d: false });
  });

  test("a map field that is undefined or null fails with toBinary's error", () => {
    sameEncoding(ClusterSchema, { ...create(ClusterSchema, { id: "c1" }), labels: undefined });
    sameEncoding(ClusterSchema, { ...create(ClusterSchema, { id: "c1" }), labels: null });
  });

  test("a message field inherited from the prototype is not set (own property required), as for toBinary", () => {
    const message = Object.assign(Object.create({ status: create(ClusterSchema, { status: { phase: 2 } }).status }), create(ClusterSchema, { id: "c1" }));
    sameEncoding(ClusterSchema, message);
  });

  test("an unset proto2 required message field fails with toBinary's error", () => {
    sameEncoding(OuterSchema, create(OuterSchema));
  });
});

describe("decodeMessage against fromBinary", () => {
  test('a Struct key "__proto__" is dropped, as fromBinary drops it, and never becomes the object\'s prototype', () => {
    const w = new BinaryWriter();
    w.tag(6, WireType.LengthDelimited).fork(); // Cluster.spec
    w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("__proto__");
    w.tag(2, WireType.LengthDelimited).fork().tag(5, WireType.LengthDelimited).fork(); // struct_value {admin: true}
    w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("admin").tag(2, WireType.LengthDelimited).fork().tag(4, WireType.Varint).bool(true).join().join();
    w.join().join().join();
    w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("region").tag(2, WireType.LengthDelimited).fork().tag(3, WireType.LengthDelimited).string("eu").join().join();
    w.join();
    const bytes = w.finish();
    const stock = fromBinary(ClusterSchema, bytes).spec as Record<string, unknown>;
    const ours = decodeMessage(ClusterSchema, bytes).spec as Record<string, unknown>;
    expect(ours).toEqual(stock); // passes: toEqual does not look at prototypes
    expect(Object.getPrototypeOf(stock)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(ours)).toBe(Object.prototype);
    expect(ours.admin).toBe(stock.admin); // stock: undefined; ours: true (inherited)
  });

  test('a Struct entry "__proto__": null leaves the spec an ordinary object', () => {
    const w = new BinaryWriter();
    w.tag(6, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("__proto__").tag(2, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int32(0).join().join();
    w.join();
    const withNull = w.finish();
    const ours = decodeMessage(ClusterSchema, withNull).spec;
    expect(Object.getPrototypeOf(fromBinary(ClusterSchema, withNull).spec)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(ours)).toBe(Object.prototype);
  });

  test("an empty ListValue one level past the recursion limit is refused, as fromBinary refuses it", () => {
    // ListClustersResponse(1) > Cluster(2) > Struct(3) > Value(4) > Struct(5) > ... > Value(100) > ListValue(101)
    let v: unknown = [];
    for (let i = 0; i < 48; i++) v = { k: v };
    const page = create(ListClustersResponseSchema, { clusters: [create(ClusterSchema, { spec: { k: v as never } })] });
    sameDecoding(ListClustersResponseSchema, toBinary(ListClustersResponseSchema, page));
  });

  test("an unknown group inside a ListValue gets exactly the nesting fromBinary allows", () => {
    // CreateClusterRequest(1) > Struct(2) > Value(3) > ListValue(4) holding an unknown group nested 97 deep
    const w = new BinaryWriter();
    w.tag(3, WireType.LengthDelimited).fork();
    w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("k");
    w.tag(2, WireType.LengthDelimited).fork().tag(6, WireType.LengthDelimited).fork();
    for (let i = 0; i < 97; i++) w.tag(9, WireType.StartGroup);
    for (let i = 0; i < 97; i++) w.tag(9, WireType.EndGroup);
    w.join().join().join().join();
    sameDecoding(CreateClusterRequestSchema, w.finish());
  });
});

describe("binary-writer.ts (the earlier patch both paths use) against the stock BinaryWriter", () => {
  test("bytes() with a value that is not a Uint8Array fails as the stock writer fails, never writes a corrupt length", () => {
    const run = () => outcome(() => new BinaryWriter().bytes([1, 2, 3] as never).finish());
    uninstallFastBinaryWriter();
    let stock: string;
    try {
      stock = run();
    } finally {
      installFastBinaryWriter();
    }
    expect(run()).toBe(stock);
  });
});
