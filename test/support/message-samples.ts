/** Messages for the codec tests: every API message type, random values for any of them, a full cluster. */
import { create, ScalarType, type DescField, type DescFile, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { file_hyperfleet_v1_adapter } from "../../gen/hyperfleet/v1/adapter_pb.js";
import { ClusterSchema, file_hyperfleet_v1_cluster } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { ConditionStatus, file_hyperfleet_v1_condition } from "../../gen/hyperfleet/v1/condition_pb.js";
import { file_hyperfleet_v1_nodepool } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import { file_hyperfleet_v1_resource_status, Phase } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { file_hyperfleet_v1_sentinel } from "../../gen/hyperfleet/v1/sentinel_pb.js";
import { file_hyperfleet_v1_status } from "../../gen/hyperfleet/v1/status_pb.js";

const FILES: DescFile[] = [file_hyperfleet_v1_adapter, file_hyperfleet_v1_cluster, file_hyperfleet_v1_condition, file_hyperfleet_v1_nodepool, file_hyperfleet_v1_resource_status, file_hyperfleet_v1_sentinel, file_hyperfleet_v1_status];
export const API_MESSAGES = FILES.flatMap((f) => allMessages(f.messages));

function allMessages(messages: readonly DescMessage[]): DescMessage[] {
  return messages.flatMap((m) => [m, ...allMessages(m.nestedMessages)]);
}

/** A small deterministic random source, so a failure repeats. */
export function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

export function randomJson(r: () => number, depth: number): JsonValue {
  const k = Math.floor(r() * (depth > 2 ? 4 : 6));
  if (k === 0) return null;
  if (k === 1) return r() < 0.3 ? 0 : (r() - 0.5) * 10 ** Math.floor(r() * 12);
  if (k === 2) return ["", "x", "ünïcödé ✓", "a".repeat(200)][Math.floor(r() * 4)];
  if (k === 3) return r() < 0.5;
  if (k === 4) return Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth + 1));
  return randomObject(r, depth + 1);
}
export function randomObject(r: () => number, depth: number): Record<string, JsonValue> {
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
export function randomMessage(r: () => number, desc: DescMessage, depth = 0): Record<string, unknown> {
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

/** A Ready cluster with statuses, labels and a nested spec of every JSON kind. */
export function fullCluster() {
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
  return cluster;
}
