import { create, fromJson, toBinary, type DescMessage, type JsonObject } from "@bufbuild/protobuf";
import { StructSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ClusterSchema } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { NodePoolSchema } from "../../../gen/hyperfleet/v1/nodepool_pb.js";
import { ConditionStatus, ConditionSchema } from "../../../gen/hyperfleet/v1/condition_pb.js";
import { Phase, ResourceStatusSchema } from "../../../gen/hyperfleet/v1/resource_status_pb.js";
import { AdapterStatusSchema } from "../../../gen/hyperfleet/v1/status_pb.js";
import { adapterStatusToPb, binaryExcessBound, clusterToPb, nodePoolToPb, resourceStatusToPb, STATUS_VIEW_COLUMNS, type AdapterStatusRow, type ClusterRow, type StoredCondition, type ViewRow } from "./rows.js";

const t = (iso: string) => new Date(iso);
const stored = (type: string, status: "True" | "False" | "Unknown", observedGeneration?: number) => ({ type, status, reason: `${type}Reason`, message: `${type} message`, lastTransitionTime: "2026-11-26T10:00:00.123Z", observedGeneration });

const row: ClusterRow = {
  id: "019ac0de-0000-7000-8000-000000000001",
  name: "prod-eu",
  labels: { env: "prod", shard: "7" },
  spec: { region: "eu-west-1", nodes: 3, nested: { on: true } },
  generation: 4,
  phase: "Ready",
  observed_generation: 4,
  last_transition_time: t("2026-11-26T10:01:00.5Z"),
  last_updated_time: t("2026-11-26T10:02:00Z"),
  status_conditions: [stored("Reconciled", "True", 4), stored("LastKnownReconciled", "True", 4), stored("DnsSuccessful", "False")],
  created_time: t("1969-12-31T23:59:59.250Z"), // before the epoch: negative seconds, positive nanos
  updated_time: t("2026-11-26T09:00:00Z"),
  deleted_time: t("2026-11-26T11:00:00.001Z"),
  created_by: "alice",
  updated_by: "bob",
  deleted_by: "carol",
};
const statusRow: AdapterStatusRow = {
  resource_id: row.id,
  adapter: "dns",
  resource_kind: "Cluster",
  observed_generation: 4,
  observed_time: t("2026-11-26T10:02:00.999Z"),
  conditions: [stored("Applied", "True"), stored("Available", "Unknown"), stored("Health", "True")],
  data: { dns: "prod-eu.example.com" },
  created_time: t("2026-11-26T10:00:00Z"),
  last_report_time: t("2026-11-26T10:02:00.999Z"),
};

// The reference: the same messages through protobuf-es's create(), as the builders did before.
const WORD = { True: ConditionStatus.TRUE, False: ConditionStatus.FALSE, Unknown: ConditionStatus.UNKNOWN };
const refCondition = (c: StoredCondition) => create(ConditionSchema, { type: c.type, status: WORD[c.status], reason: c.reason, message: c.message, lastTransitionTime: timestampFromDate(new Date(c.lastTransitionTime)), observedGeneration: BigInt(c.observedGeneration ?? 0) });
const refStatus = () =>
  create(ResourceStatusSchema, { phase: Phase.READY, observedGeneration: 4n, lastTransitionTime: timestampFromDate(row.last_transition_time), lastUpdatedTime: timestampFromDate(row.last_updated_time), conditions: row.status_conditions.map(refCondition) });
const refAdapterStatus = () =>
  create(AdapterStatusSchema, { resourceId: row.id, adapter: "dns", resourceKind: "Cluster", observedGeneration: 4n, observedTime: timestampFromDate(statusRow.observed_time), conditions: statusRow.conditions.map(refCondition), data: statusRow.data!, createdTime: timestampFromDate(statusRow.created_time), lastReportTime: timestampFromDate(statusRow.last_report_time) });
const common = () => ({ id: row.id, name: row.name, labels: row.labels, spec: row.spec, generation: 4n, status: refStatus(), createdTime: timestampFromDate(row.created_time), updatedTime: timestampFromDate(row.updated_time), deletedTime: timestampFromDate(row.deleted_time!), createdBy: "alice", updatedBy: "bob", deletedBy: "carol" });

/** The row as the STATUS view reads it: only STATUS_VIEW_COLUMNS. */
const statusViewRow = (): ViewRow => Object.fromEntries(STATUS_VIEW_COLUMNS.map((c) => [c, row[c]])) as unknown as ViewRow;

/** Every field of the schema is an own property (unset message fields as undefined; create() leaves them out, which encodes the same). */
const fieldsOf = (schema: DescMessage) => ["$typeName", ...schema.fields.map((f) => f.localName)].sort();

test.each([
  ["Cluster (FULL)", ClusterSchema, () => clusterToPb(row, [statusRow]), () => create(ClusterSchema, { ...common(), href: `/api/hyperfleet/v1/clusters/${row.id}`, kind: "Cluster", adapterStatuses: [refAdapterStatus()] })],
  ["Cluster (BASIC, live)", ClusterSchema, () => clusterToPb({ ...row, deleted_time: null, deleted_by: null }), () => create(ClusterSchema, { ...common(), deletedTime: undefined, deletedBy: "", href: `/api/hyperfleet/v1/clusters/${row.id}`, kind: "Cluster" })],
  [
    "Cluster (STATUS view: no labels, spec or conditions read)",
    ClusterSchema,
    () => clusterToPb(statusViewRow()),
    () => create(ClusterSchema, { ...common(), labels: {}, spec: undefined, status: { ...refStatus(), conditions: [] }, href: `/api/hyperfleet/v1/clusters/${row.id}`, kind: "Cluster" }),
  ],
  ["NodePool (STATUS view)", NodePoolSchema, () => nodePoolToPb({ ...statusViewRow(), cluster_id: "c1" }), () => create(NodePoolSchema, { ...common(), labels: {}, spec: undefined, status: { ...refStatus(), conditions: [] }, href: `/api/hyperfleet/v1/clusters/c1/nodepools/${row.id}`, kind: "NodePool", clusterId: "c1" })],
  ["NodePool", NodePoolSchema, () => nodePoolToPb({ ...row, cluster_id: "c1" }, [statusRow]), () => create(NodePoolSchema, { ...common(), href: `/api/hyperfleet/v1/clusters/c1/nodepools/${row.id}`, kind: "NodePool", clusterId: "c1", adapterStatuses: [refAdapterStatus()] })],
  ["AdapterStatus", AdapterStatusSchema, () => adapterStatusToPb(statusRow), refAdapterStatus],
  ["ResourceStatus", ResourceStatusSchema, () => resourceStatusToPb({ phase: "Ready", observedGeneration: 4, lastTransitionTime: row.last_transition_time, lastUpdatedTime: row.last_updated_time, conditions: row.status_conditions.map((c) => ({ ...c, lastTransitionTime: new Date(c.lastTransitionTime) })) }), refStatus],
] as [string, DescMessage, () => object, () => object][])("%s: every field, equal to create() and encoding the same", (_name, schema, build, reference) => {
  const built = build();
  expect(Object.keys(built).sort()).toEqual(fieldsOf(schema));
  expect(built).toEqual(reference());
  expect(Buffer.from(toBinary(schema, built as never)).equals(Buffer.from(toBinary(schema, reference() as never)))).toBe(true);
});

const numbers = (n: number) => Array.from({ length: n }, () => 1);
let deep: JsonObject = { leaf: 0 };
for (let i = 0; i < 60; i++) deep = { n: deep };

test.each([
  ["numbers, the worst case (1 JSON byte, 11 binary)", { a: numbers(5000) }],
  ["long strings, where binary is about the JSON", { s: "x".repeat(10_000), t: ["y".repeat(500), "z"] }],
  ["many small members", Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i % 2 ? true : null]))],
  ["empty containers", { a: [], o: {}, l: [[], [{}], {}] }],
  ["60 levels deep", deep],
  ["an empty spec", {}],
] as [string, JsonObject][])("binaryExcessBound: binary protobuf is at most JSON + the bound, and at most 6 × JSON: %s", (_name, value) => {
  const json = JSON.stringify(value).length;
  const binary = toBinary(StructSchema, fromJson(StructSchema, value)).length;
  expect(binary).toBeLessThanOrEqual(json + binaryExcessBound(value));
  expect(binary).toBeLessThanOrEqual(6 * json);
});

test("binaryExcessBound counts an array too long to spread into a call (200,000 elements)", () => {
  expect(binaryExcessBound({ a: numbers(200_000) })).toBe(10 * 200_002);
});
