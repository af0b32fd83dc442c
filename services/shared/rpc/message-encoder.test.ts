import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { AnySchema, FieldMaskSchema, FileDescriptorProtoSchema, StructSchema, TimestampSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { ClusterSchema, file_hyperfleet_v1_cluster, ListClustersRequestSchema, ListClustersResponseSchema } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { ConditionSchema } from "../../../gen/hyperfleet/v1/condition_pb.js";
import { ResourceStatusSchema } from "../../../gen/hyperfleet/v1/resource_status_pb.js";
import { ReportStatusResponseSchema } from "../../../gen/hyperfleet/v1/status_pb.js";
import { encodeCompiled, encodeMessage } from "./message-encoder.js";
import { API_MESSAGES, fullCluster, randomMessage, randomObject, rng } from "../../../test/support/message-samples.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
/** The compiled path itself (no fallback to toBinary) gives toBinary's bytes. */
const same = (schema: DescMessage, message: unknown) => expect(hex(encodeCompiled(schema, message as never))).toBe(hex(toBinary(schema, message as never)));
/** encodeMessage, whichever path it takes, gives toBinary's bytes. */
const sameViaAnyPath = (schema: DescMessage, message: unknown) => expect(hex(encodeMessage(schema, message as never))).toBe(hex(toBinary(schema, message as never)));

test("every message of the API, at its defaults, encodes as toBinary does", () => {
  expect(API_MESSAGES.length).toBeGreaterThan(30);
  for (const desc of API_MESSAGES) same(desc, create(desc));
});

test("random values in every field of every API message encode as toBinary does", () => {
  const r = rng(42);
  for (let round = 0; round < 40; round++) for (const desc of API_MESSAGES) same(desc, randomMessage(r, desc));
});

test("a full cluster page (statuses, conditions, labels, a nested spec) encodes as toBinary does", () => {
  const cluster = fullCluster();
  same(ClusterSchema, cluster);
  same(ListClustersResponseSchema, create(ListClustersResponseSchema, { clusters: Array.from({ length: 20 }, () => cluster), nextPageToken: "abc", totalSize: 20n }));
  same(ReportStatusResponseSchema, create(ReportStatusResponseSchema, { resourceStatus: cluster.status }));
});

test("a Struct's values of every JSON kind, nested, encode as toBinary does", () => {
  const r = rng(7);
  for (let i = 0; i < 200; i++) same(ClusterSchema, create(ClusterSchema, { spec: randomObject(r, 0) }));
  same(ClusterSchema, create(ClusterSchema, { spec: { big: 1e300, small: -1e-300, nan: NaN, inf: Infinity, neg0: -0, n: 0 } }));
});

test("unknown fields are written back after the known ones", () => {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string("id-1");
  w.tag(99, WireType.Varint).uint32(7);
  w.tag(100, WireType.LengthDelimited).string("from a newer peer");
  const decoded = fromBinary(ClusterSchema, w.finish());
  expect(decoded.$unknown?.length).toBe(2);
  same(ClusterSchema, decoded);
});

test("messages of shapes it does not compile (oneofs, proto2 presence, Any, wrappers' holders) are written by toBinary", () => {
  sameViaAnyPath(ValueSchema, create(ValueSchema, { kind: { case: "stringValue", value: "x" } }));
  sameViaAnyPath(StructSchema, create(StructSchema, { fields: { a: create(ValueSchema, { kind: { case: "numberValue", value: 1 } }) } }));
  sameViaAnyPath(AnySchema, create(AnySchema, { typeUrl: "type.googleapis.com/x", value: new Uint8Array([1, 2]) }));
  sameViaAnyPath(FileDescriptorProtoSchema, file_hyperfleet_v1_cluster.proto);
  sameViaAnyPath(TimestampSchema, create(TimestampSchema, { seconds: -5n, nanos: 1 }));
  sameViaAnyPath(FieldMaskSchema, create(FieldMaskSchema, { paths: ["spec", "labels"] }));
});

test("values toBinary refuses fail with toBinary's own error", () => {
  const errorOf = (f: () => unknown) => {
    try {
      f();
      return "no error";
    } catch (e) {
      return String(e);
    }
  };
  const bad: [DescMessage, unknown][] = [
    [ClusterSchema, { ...create(ClusterSchema), generation: "not a number" }],
    [ClusterSchema, { ...create(ClusterSchema), status: create(ResourceStatusSchema, { observedGeneration: 2n ** 70n }) }],
    [ListClustersRequestSchema, { ...create(ListClustersRequestSchema), pageSize: 2 ** 40 }],
    [ListClustersRequestSchema, { ...create(ListClustersRequestSchema), pageSize: 1.5 }],
    [ClusterSchema, { ...create(ClusterSchema), $typeName: "hyperfleet.v1.NodePool" }],
    [ClusterSchema, { ...create(ClusterSchema), status: { ...create(ResourceStatusSchema), $typeName: "hyperfleet.v1.Condition" } }],
  ];
  for (const [schema, message] of bad) {
    const stock = errorOf(() => toBinary(schema, message as never));
    expect(stock).not.toBe("no error");
    expect(errorOf(() => encodeMessage(schema, message as never))).toBe(stock);
  }
  // And what toBinary lets through (a number where a string belongs), it writes alike.
  sameViaAnyPath(ClusterSchema, { ...create(ClusterSchema), status: create(ResourceStatusSchema, { conditions: [create(ConditionSchema, { message: 5 as never })] }) });
});
