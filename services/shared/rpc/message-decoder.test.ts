import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, StructSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { ClusterSchema, file_hyperfleet_v1_cluster, ListClustersResponseSchema } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { ReportStatusRequestSchema } from "../../../gen/hyperfleet/v1/status_pb.js";
import { decodeMessage } from "./message-decoder.js";
import { API_MESSAGES, fullCluster, randomMessage, randomObject, rng } from "../../../test/support/message-samples.js";

/** decodeMessage and fromBinary on the same bytes: the same message, or the same error. */
function same(schema: DescMessage, bytes: Uint8Array) {
  const run = (f: () => unknown) => {
    try {
      return { value: f() };
    } catch (e) {
      return { error: String(e) };
    }
  };
  const ours = run(() => decodeMessage(schema, bytes));
  const stock = run(() => fromBinary(schema, bytes));
  expect(ours).toEqual(stock);
  // toEqual ignores key order and undefined-valued keys; the fields present must match too.
  if ("value" in ours && "value" in stock) expect(Object.keys(ours.value as object).sort()).toEqual(Object.keys(stock.value as object).sort());
  return ours;
}

test("every message of the API, with random values, decodes as fromBinary does", () => {
  const r = rng(1);
  for (const desc of API_MESSAGES) same(desc, toBinary(desc, create(desc)));
  for (let round = 0; round < 40; round++) for (const desc of API_MESSAGES) same(desc, toBinary(desc, randomMessage(r, desc) as never));
});

test("a full cluster page decodes to the message that was sent", () => {
  const page = create(ListClustersResponseSchema, { clusters: Array.from({ length: 5 }, fullCluster), nextPageToken: "n", totalSize: 5n });
  const out = same(ListClustersResponseSchema, toBinary(ListClustersResponseSchema, page));
  expect(out.value).toEqual(page);
});

test("a Struct's values of every JSON kind decode as fromBinary has them", () => {
  const r = rng(9);
  for (let i = 0; i < 200; i++) same(ClusterSchema, toBinary(ClusterSchema, create(ClusterSchema, { spec: randomObject(r, 0) })));
});

test("unknown fields are kept, in order, also inside nested messages", () => {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string("id-1");
  w.tag(99, WireType.Varint).uint32(7);
  w.tag(8, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int32(1).tag(50, WireType.Bit32).fixed32(9).join(); // status, with an unknown field
  w.tag(100, WireType.LengthDelimited).string("from a newer peer");
  const out = same(ClusterSchema, w.finish());
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
  const merged = same(ClusterSchema, w.finish()).value as { name: string; status: { phase: number; observedGeneration: bigint }; labels: Record<string, string> };
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
