import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, StructSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { ClusterSchema, file_hyperfleet_v1_cluster, ListClustersResponseSchema } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { ReportStatusRequestSchema } from "../../../gen/hyperfleet/v1/status_pb.js";
import { decodeCompiled, decodeMessage } from "./message-decoder.js";
import { API_MESSAGES, fullCluster, randomMessage, randomObject, rng } from "../../../test/support/message-samples.js";

/**
 * Strict equality: same prototypes, the same own keys in the same order, Object.is on primitives
 * (toEqual ignores prototypes, key order and undefined-valued keys).
 */
function strictlyEqual(a: unknown, b: unknown, path = "$"): void {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) {
    if (!Object.is(a, b)) throw new Error(`${path}: ${String(a)} is not ${String(b)}`);
    return;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) throw new Error(`${path}: prototypes differ`);
  const ka = Reflect.ownKeys(a);
  const kb = Reflect.ownKeys(b);
  if (ka.join("\0") !== kb.join("\0")) throw new Error(`${path}: keys ${ka.join(",")} are not ${kb.join(",")}`);
  for (const k of ka) strictlyEqual((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k], `${path}.${String(k)}`);
}

function outcome(f: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: f() };
  } catch (e) {
    return { error: String(e) };
  }
}

/** decodeMessage (or, with `compiledOnly`, its compiled path with no fallback) and fromBinary on the same bytes: the same message, strictly, or the same error. */
function same(schema: DescMessage, bytes: Uint8Array, compiledOnly = false) {
  const ours = outcome(() => (compiledOnly ? decodeCompiled(schema, bytes) : decodeMessage(schema, bytes)));
  const stock = outcome(() => fromBinary(schema, bytes));
  if ("error" in stock || "error" in ours) expect(ours).toEqual(stock);
  else strictlyEqual(ours.value, stock.value);
  return ours as { value: unknown };
}
const compiledSame = (schema: DescMessage, bytes: Uint8Array) => same(schema, bytes, true);

test("every message of the API, with random values, decodes as fromBinary does", () => {
  const r = rng(1);
  for (const desc of API_MESSAGES) compiledSame(desc, toBinary(desc, create(desc)));
  for (let round = 0; round < 40; round++) for (const desc of API_MESSAGES) compiledSame(desc, toBinary(desc, randomMessage(r, desc) as never));
});

test("a full cluster page decodes to the message that was sent", () => {
  const page = create(ListClustersResponseSchema, { clusters: Array.from({ length: 5 }, fullCluster), nextPageToken: "n", totalSize: 5n });
  const out = compiledSame(ListClustersResponseSchema, toBinary(ListClustersResponseSchema, page));
  expect(out.value).toEqual(page);
});

test("a Struct's values of every JSON kind decode as fromBinary has them", () => {
  const r = rng(9);
  for (let i = 0; i < 200; i++) compiledSame(ClusterSchema, toBinary(ClusterSchema, create(ClusterSchema, { spec: randomObject(r, 0) })));
});

test("unknown fields are kept, in order, also inside nested messages", () => {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string("id-1");
  w.tag(99, WireType.Varint).uint32(7);
  w.tag(8, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int32(1).tag(50, WireType.Bit32).fixed32(9).join(); // status, with an unknown field
  w.tag(100, WireType.LengthDelimited).string("from a newer peer");
  const out = compiledSame(ClusterSchema, w.finish());
  const cluster = out.value as { $unknown?: unknown[]; status?: { $unknown?: unknown[] } };
  expect(cluster.$unknown).toHaveLength(2);
  expect(cluster.status?.$unknown).toHaveLength(1);
});

test("edge cases decode as fromBinary has them: repeats merge, last scalar wins, packed or not, partial map entries", () => {
  const w = new BinaryWriter();
  w.tag(4, WireType.LengthDelimited).string("first").tag(4, WireType.LengthDelimited).string("second"); // name twice
  w.tag(8, WireType.LengthDelimited).fork().tag(2, WireType.Varint).int64(4n).join(); // status twice: merged
  w.tag(8, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int32(1).join();
  w.tag(5, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("only-key").join(); // label without value
  w.tag(5, WireType.LengthDelimited).fork().tag(2, WireType.LengthDelimited).string("only-value").join(); // label without key
  const merged = compiledSame(ClusterSchema, w.finish()).value as { name: string; status: { phase: number; observedGeneration: bigint }; labels: Record<string, string> };
  expect(merged.name).toBe("second");
  expect(merged.status).toMatchObject({ phase: 1, observedGeneration: 4n });
  expect(merged.labels).toEqual({ "only-key": "", "": "only-value" });
  // A Struct field sent twice, and a Value with two kinds: fromBinary merges; this reader hands them to it.
  const spec = (json: object) => toBinary(ClusterSchema, create(ClusterSchema, { spec: json as never }));
  same(ClusterSchema, Buffer.concat([spec({ a: 1 }), spec({ b: { c: [1] } })]));
  const v = new BinaryWriter();
  v.tag(6, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("k").tag(2, WireType.LengthDelimited).fork().tag(2, WireType.Bit64).double(1).tag(3, WireType.LengthDelimited).string("x").join().join().join().join();
  same(ClusterSchema, v.finish());
});

test("malformed input fails with fromBinary's error, or decodes as it does", () => {
  const good = toBinary(ClusterSchema, fullCluster());
  for (let cut = 1; cut < good.length; cut += 7) same(ClusterSchema, good.subarray(0, cut));
  const r = rng(3);
  for (let i = 0; i < 300; i++) {
    const bytes = Uint8Array.from(good);
    for (let k = 0; k < 3; k++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
    same(ClusterSchema, bytes);
  }
  same(ReportStatusRequestSchema, Uint8Array.from([0x0a, 0x02, 0xc3, 0x28])); // invalid UTF-8 in a string
});

test("messages of shapes it does not compile are read by fromBinary", () => {
  same(ValueSchema, toBinary(ValueSchema, create(ValueSchema, { kind: { case: "stringValue", value: "x" } })));
  same(StructSchema, toBinary(StructSchema, create(StructSchema)));
  same(FileDescriptorProtoSchema, toBinary(FileDescriptorProtoSchema, file_hyperfleet_v1_cluster.proto));
});
