import { create, fromBinary, ScalarType, toBinary, type DescField, type DescFile, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { AnySchema, FieldMaskSchema, FileDescriptorProtoSchema, StructSchema, TimestampSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { file_hyperfleet_v1_adapter } from "../../../gen/hyperfleet/v1/adapter_pb.js";
import { ClusterSchema, file_hyperfleet_v1_cluster, ListClustersRequestSchema, ListClustersResponseSchema } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { ConditionSchema, ConditionStatus, file_hyperfleet_v1_condition } from "../../../gen/hyperfleet/v1/condition_pb.js";
import { file_hyperfleet_v1_nodepool } from "../../../gen/hyperfleet/v1/nodepool_pb.js";
import { file_hyperfleet_v1_resource_status, Phase, ResourceStatusSchema } from "../../../gen/hyperfleet/v1/resource_status_pb.js";
import { file_hyperfleet_v1_sentinel } from "../../../gen/hyperfleet/v1/sentinel_pb.js";
import { file_hyperfleet_v1_status, ReportStatusResponseSchema } from "../../../gen/hyperfleet/v1/status_pb.js";
import { encodeMessage } from "./message-encoder.js";

const FILES: DescFile[] = [file_hyperfleet_v1_adapter, file_hyperfleet_v1_cluster, file_hyperfleet_v1_condition, file_hyperfleet_v1_nodepool, file_hyperfleet_v1_resource_status, file_hyperfleet_v1_sentinel, file_hyperfleet_v1_status];
const API_MESSAGES = FILES.flatMap((f) => allMessages(f.messages));

function allMessages(messages: readonly DescMessage[]): DescMessage[] {
  return messages.flatMap((m) => [m, ...allMessages(m.nestedMessages)]);
}

const same = (schema: DescMessage, message: unknown) => expect(Buffer.from(encodeMessage(schema, message as never)).toString("hex")).toBe(Buffer.from(toBinary(schema, message as never)).toString("hex"));

/** A small deterministic random source, so a failure repeats. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function randomJson(r: () => number, depth: number): JsonValue {
  const k = Math.floor(r() * (depth > 2 ? 4 : 6));
  if (k === 0) return null;
  if (k === 1) return r() < 0.3 ? 0 : (r() - 0.5) * 10 ** Math.floor(r() * 12);
  if (k === 2) return ["", "x", "ünïcödé ✓", "a".repeat(200)][Math.floor(r() * 4)];
  if (k === 3) return r() < 0.5;
  if (k === 4) return Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth + 1));
  return randomObject(r, depth + 1);
}
function randomObject(r: () => number, depth: number): Record<string, JsonValue> {
  return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, (_, i) => [["k", "", "9", "10", "ключ"][i % 5] + i, randomJson(r, depth)]));
}

function randomScalar(r: () => number, type: ScalarType): unknown {
  const zero = r() < 0.3;
  switch (type) {
    case ScalarType.STRING:
      return zero ? "" : ["a", "condition message", "ü✓", "x".repeat(300)][Math.floor(r() * 4)];
    case ScalarType.BOOL:
      return !zero;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return zero ? 0n : BigInt(Math.floor((r() - 0.5) * 2 ** 52));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return zero ? 0n : BigInt(Math.floor(r() * 2 ** 52));
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return zero ? 0 : Math.floor((r() - 0.5) * 2 ** 31);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return zero ? 0 : Math.floor(r() * 2 ** 32);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return zero ? 0 : Math.fround((r() - 0.5) * 1000);
    case ScalarType.BYTES:
      return zero ? new Uint8Array() : new Uint8Array([1, 2, 3]);
  }
}

/** A message of `desc` with every field randomly set or left at its zero value. */
function randomMessage(r: () => number, desc: DescMessage, depth = 0): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const f of desc.fields) {
    const v = randomField(r, f, depth);
    if (v !== undefined) init[f.localName] = v;
  }
  return create(desc, init as never) as unknown as Record<string, unknown>;
}
function randomField(r: () => number, f: DescField, depth: number): unknown {
  switch (f.fieldKind) {
    case "scalar":
      return randomScalar(r, f.scalar);
    case "enum":
      return r() < 0.3 ? 0 : f.enum.values[Math.floor(r() * f.enum.values.length)].number;
    case "message":
      if (f.message.typeName === "google.protobuf.Struct") return r() < 0.2 ? undefined : randomObject(r, 0);
      return depth > 3 || r() < 0.3 ? undefined : randomMessage(r, f.message, depth + 1);
    case "list":
      return Array.from({ length: depth > 3 ? 0 : Math.floor(r() * 4) }, () =>
        f.listKind === "message" ? randomMessage(r, f.message, depth + 1) : f.listKind === "enum" ? f.enum.values[Math.floor(r() * f.enum.values.length)].number : randomScalar(r, f.scalar),
      );
    case "map":
      return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, (_, i) => [`key-${i}`, f.mapKind === "scalar" ? randomScalar(r, f.scalar) : f.mapKind === "enum" ? 0 : randomMessage(r, f.message, depth + 1)]));
  }
}

test("every message of the API, at its defaults, encodes as toBinary does", () => {
  expect(API_MESSAGES.length).toBeGreaterThan(30);
  for (const desc of API_MESSAGES) same(desc, create(desc));
});

test("random values in every field of every API message encode as toBinary does", () => {
  const r = rng(42);
  for (let round = 0; round < 40; round++) for (const desc of API_MESSAGES) same(desc, randomMessage(r, desc));
});

test("a full cluster page (statuses, conditions, labels, a nested spec) encodes as toBinary does", () => {
  const ts = { seconds: 1_790_000_000n, nanos: 123_000_000 };
  const condition = { type: "Available", status: ConditionStatus.TRUE, reason: "JobSucceeded", message: "validation-job complete", lastTransitionTime: ts, observedGeneration: 3n };
  const cluster = create(ClusterSchema, {
    id: "0195f2a0-0000-7000-8000-000000000001",
    name: "prod-eu-1",
    labels: { env: "prod", shard: "7", "": "empty key" },
    spec: { region: "eu-west-1", nodes: 3, ha: true, zones: ["a", "b", null], network: { cidr: "10.0.0.0/16", mtu: 1500.5, tags: {} }, nothing: null, empty: [] },
    generation: 3n,
    status: { phase: Phase.READY, observedGeneration: 3n, lastTransitionTime: ts, lastUpdatedTime: ts, conditions: [condition, { ...condition, type: "Reconciled", observedGeneration: 0n }] },
    createdTime: ts,
    updatedTime: ts,
    createdBy: "alice",
    updatedBy: "bob",
  });
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
  same(ValueSchema, create(ValueSchema, { kind: { case: "stringValue", value: "x" } }));
  same(StructSchema, create(StructSchema, { fields: { a: create(ValueSchema, { kind: { case: "numberValue", value: 1 } }) } }));
  same(AnySchema, create(AnySchema, { typeUrl: "type.googleapis.com/x", value: new Uint8Array([1, 2]) }));
  same(FileDescriptorProtoSchema, file_hyperfleet_v1_cluster.proto);
  same(TimestampSchema, create(TimestampSchema, { seconds: -5n, nanos: 1 }));
  same(FieldMaskSchema, create(FieldMaskSchema, { paths: ["spec", "labels"] }));
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
  same(ClusterSchema, { ...create(ClusterSchema), status: create(ResourceStatusSchema, { conditions: [create(ConditionSchema, { message: 5 as never })] }) });
});
