import { decodeReconcileEvent, encodeReconcileEvent, eventType, newReconcileEvent, type DecodeError } from "./reconcile-event.js";

const cluster = { id: "0190aaaa-0000-7000-8000-000000000001", kind: "Cluster" as const, href: "/api/hyperfleet/v1/clusters/0190aaaa-0000-7000-8000-000000000001", generation: 2 };
const at = new Date("2026-01-01T00:00:01Z");

test("encode → decode round-trips a cluster event in CloudEvents 1.0 structured mode (spec §5)", () => {
  const body = encodeReconcileEvent(newReconcileEvent(cluster, "0190bbbb-0000-7000-8000-000000000002", at));
  expect(JSON.parse(body.toString())).toEqual({
    specversion: "1.0",
    type: "com.redhat.hyperfleet.cluster.reconcile",
    source: "hyperfleet-sentinel",
    id: "0190bbbb-0000-7000-8000-000000000002",
    time: "2026-01-01T00:00:01.000Z",
    datacontenttype: "application/json",
    data: cluster,
  });
  expect(decodeReconcileEvent(body)).toMatchObject({ ok: true, event: { data: cluster } });
});

test.each([
  ["Cluster", "com.redhat.hyperfleet.cluster.reconcile"],
  ["NodePool", "com.redhat.hyperfleet.nodepool.reconcile"],
] as const)("eventType(%s) = %s", (kind, type) => expect(eventType(kind)).toBe(type));

const good = JSON.parse(encodeReconcileEvent(newReconcileEvent(cluster, "e1", at)).toString());
test.each([
  ["not JSON", "{{", "NotJson"],
  ["JSON but no specversion", JSON.stringify({ ...good, specversion: undefined }), "NotCloudEvent"],
  ["another event type", JSON.stringify({ ...good, type: "com.example.other" }), "UnknownType"],
  ["generation 0", JSON.stringify({ ...good, data: { ...cluster, generation: 0 } }), "BadData"],
  ["kind not matching the type", JSON.stringify({ ...good, data: { ...cluster, kind: "NodePool" } }), "BadData"],
  ["nodepool without owner_references", JSON.stringify({ ...good, type: eventType("NodePool"), data: { ...cluster, kind: "NodePool" } }), "BadData"],
] as [string, string, DecodeError][])("malformed: %s → %s", (_name, body, error) => {
  expect(decodeReconcileEvent(body)).toMatchObject({ ok: false, error });
});
