import { create, fromBinary, toBinary, type JsonObject } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { ClusterSchema, ListClustersResponseSchema } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { ConditionStatus } from "../../../gen/hyperfleet/v1/condition_pb.js";
import { installFastBinaryWriter, uninstallFastBinaryWriter } from "./binary-writer.js";

/** Runs `write` with the stock writer and with ours; both must give the same bytes (or the same error). */
function both(write: (w: BinaryWriter) => Uint8Array): [Buffer, Buffer] {
  uninstallFastBinaryWriter();
  try {
    const stock = Buffer.from(write(new BinaryWriter()));
    installFastBinaryWriter();
    return [stock, Buffer.from(write(new BinaryWriter()))];
  } finally {
    installFastBinaryWriter();
  }
}
const errorOf = (f: () => unknown) => {
  try {
    f();
    return undefined;
  } catch (e) {
    return String(e);
  }
};

const INT64S = [0n, 1n, -1n, 127n, 128n, 300n, 2n ** 31n, -(2n ** 31n), 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), "12345678901234", -5];
const UINT64S = [0n, 1n, 127n, 128n, 2n ** 32n, 2n ** 64n - 1n, "18446744073709551615"];
const INT32S = [0, 1, -1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, -(2 ** 31)];
const UINT32S = [0, 1, 127, 128, 2 ** 21, 2 ** 28, 2 ** 32 - 1];

test.each([
  ["varint scalars", (w: BinaryWriter) => {
    for (const v of INT32S) w.int32(v).sint32(v).sfixed32(v);
    for (const v of UINT32S) w.uint32(v).fixed32(v);
    for (const v of INT64S) w.int64(v).sint64(v).sfixed64(v);
    for (const v of UINT64S) w.uint64(v).fixed64(v);
    return w.bool(true).bool(false).tag(1, 2).tag(536_870_911, 5).finish();
  }],
  ["floats and doubles", (w: BinaryWriter) => {
    for (const v of [0, -0, 1.5, -2.25, 3.4e38, NaN, Infinity, -Infinity]) w.float(v);
    for (const v of [0, Math.PI, -1e308, 5e-324, NaN]) w.double(v);
    return w.finish();
  }],
  ["strings: ASCII, long, non-ASCII, surrogates", (w: BinaryWriter) => {
    for (const s of ["", "a", "x".repeat(127), "x".repeat(128), "y".repeat(20_000), "café", "ready 🚀", "bad \ud800 half", "é".repeat(100)]) w.string(s);
    return w.finish();
  }],
  ["bytes and raw", (w: BinaryWriter) => w.bytes(new Uint8Array([1, 2, 3])).bytes(new Uint8Array(0)).bytes(new Uint8Array(70_000).fill(7)).raw(new Uint8Array([9, 9])).finish()],
  ["nested forks whose lengths need 1, 2 and 3 bytes", (w: BinaryWriter) => {
    w.tag(1, 2).fork().string("inner");
    w.tag(2, 2).fork().bytes(new Uint8Array(200)).tag(3, 2).fork().raw(new Uint8Array(20_000)).join().join();
    w.tag(4, 2).fork().join();
    return w.join().finish();
  }],
  ["finish inside a fork returns that fork's bytes; the outer message goes on", (w: BinaryWriter) => {
    w.string("abc").fork().string("de");
    const inner = w.finish();
    w.join().string("z");
    return Uint8Array.from([...inner, 0xff, ...w.finish()]);
  }],
  ["a join without a fork drops what was written before (then the writer is reused)", (w: BinaryWriter) => {
    w.string("abc");
    try {
      w.join();
    } catch {
      // expected: the same error is checked below
    }
    return w.string("x").finish();
  }],
  ["a writer used again after finish", (w: BinaryWriter) => {
    w.string("first").finish();
    return w.string("second").finish();
  }],
])("%s: the same bytes as the stock writer", (_name, write) => {
  const [stock, fast] = both(write);
  expect(fast.equals(stock)).toBe(true);
});

test.each([
  ["uint32 -1", (w: BinaryWriter) => w.uint32(-1)],
  ["int32 2^31", (w: BinaryWriter) => w.int32(2 ** 31)],
  ["int32 1.5", (w: BinaryWriter) => w.int32(1.5)],
  ["float 1e39", (w: BinaryWriter) => w.float(1e39)],
  ["join without fork", (w: BinaryWriter) => w.join()],
  ["int64 not a number", (w: BinaryWriter) => w.int64("abc")],
])("%s: the same error as the stock writer", (_name, write) => {
  uninstallFastBinaryWriter();
  const stock = errorOf(() => write(new BinaryWriter()));
  installFastBinaryWriter();
  expect(stock).toBeDefined();
  expect(errorOf(() => write(new BinaryWriter()))).toBe(stock);
});

const spec: JsonObject = { region: "us-east-1", nodes: 3, ha: true, tags: ["a", "b", { nested: null }], text: "naïve 🚀 ".repeat(300) };
const cluster = create(ClusterSchema, {
  id: "019ac0de-0000-7000-8000-000000000001",
  name: "prod-eu",
  labels: { env: "prod", shard: "7", "hyperfleet.io/owner": "team-a" },
  spec,
  generation: 42n,
  status: { phase: 2, conditions: [{ type: "Ready", status: ConditionStatus.TRUE, reason: "AllAdaptersReady", message: "ok", lastTransitionTime: { seconds: 1_800_000_000n, nanos: 5 } }] },
  adapterStatuses: [{ adapter: "dns", observedGeneration: 42n, conditions: [{ type: "Available", status: ConditionStatus.FALSE }] }],
});

test.each([
  ["a Cluster with spec, labels, conditions and adapter statuses", () => toBinary(ClusterSchema, cluster)],
  ["a list of 100 of them", () => toBinary(ListClustersResponseSchema, create(ListClustersResponseSchema, { clusters: Array(100).fill(cluster) }))],
  ["a file descriptor", () => toBinary(FileDescriptorProtoSchema, ClusterSchema.file.proto)],
])("%s: the same bytes as the stock writer", (_name, encode) => {
  const [stock, fast] = both(() => encode());
  expect(fast.equals(stock)).toBe(true);
});

test("a Cluster decodes back to itself", () => {
  expect(fromBinary(ClusterSchema, toBinary(ClusterSchema, cluster))).toEqual(cluster);
});
