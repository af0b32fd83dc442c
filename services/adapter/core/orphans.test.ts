import { findOrphans, isLabelValue, ownersToCheck, type Existence, type OrphanReason, type OwnedObject, type SweepingAdapter } from "./orphans.js";

const validation: SweepingAdapter = { name: "validation", resourceKind: "clusters" };
const nodepool: SweepingAdapter = { name: "nodepool", resourceKind: "nodepools" };
const job = (labels: Record<string, string>, over: Partial<OwnedObject> = {}): OwnedObject => ({ apiVersion: "batch/v1", kind: "Job", namespace: "hyperfleet", name: "validation-c1-gen1", labels, deleting: false, ...over });
const ours = (cluster: string) => ({ "hyperfleet.io/adapter": "validation", "hyperfleet.io/cluster-id": cluster });
const pool = (cluster: string, np: string) => ({ "hyperfleet.io/adapter": "nodepool", "hyperfleet.io/cluster-id": cluster, "hyperfleet.io/nodepool-id": np });

describe("findOrphans: an object is deleted only when the API said its resource is gone", () => {
  test.each<[string, SweepingAdapter, OwnedObject, Record<string, Existence>, boolean, OrphanReason, string | undefined]>([
    ["Delete + ForceDelete: the cluster is NotFound → orphan", validation, job(ours("c1")), { c1: "gone" }, true, "OwnerGone", "c1"],
    ["the cluster exists (live or being deleted: the reconcile cleans that) → kept", validation, job(ours("c1")), { c1: "exists" }, false, "OwnerExists", "c1"],
    ["the API could not answer (error, timeout) → never treated as gone", validation, job(ours("c1")), { c1: "unknown" }, false, "OwnerUnknown", "c1"],
    ["the owner was not asked about (a sweep of another resource) → kept", validation, job(ours("c1")), { c2: "gone" }, false, "OwnerUnknown", "c1"],
    ["another adapter's object, even of a gone cluster → not ours", validation, job({ "hyperfleet.io/adapter": "dns", "hyperfleet.io/cluster-id": "c1" }), { c1: "gone" }, false, "OtherAdapter", undefined],
    ["our adapter label without an owner label → never judged", validation, job({ "hyperfleet.io/adapter": "validation" }), {}, false, "NoOwnerLabel", undefined],
    ["an empty owner label counts as none", validation, job({ ...ours(""), "hyperfleet.io/cluster-id": "" }), { "": "gone" }, false, "NoOwnerLabel", undefined],
    ["already being deleted (foreground) → not deleted again", validation, job(ours("c1"), { deleting: true }), { c1: "gone" }, false, "AlreadyDeleting", "c1"],
    ["nodepool adapter: the owner is the nodepool; nodepool gone, cluster alive → orphan", nodepool, job(pool("c1", "np1")), { np1: "gone", c1: "exists" }, true, "OwnerGone", "np1"],
    ["nodepool adapter: nodepool exists → kept, whatever the cluster", nodepool, job(pool("c1", "np1")), { np1: "exists", c1: "gone" }, false, "OwnerExists", "np1"],
    ["nodepool adapter: only a cluster label → never judged by the cluster", nodepool, job({ "hyperfleet.io/adapter": "nodepool", "hyperfleet.io/cluster-id": "c1" }), { c1: "gone" }, false, "NoOwnerLabel", undefined],
  ])("%s", (_name, adapter, object, known, orphan, reason, ownerId) => {
    const [v] = findOrphans([object], new Map(Object.entries(known)), adapter);
    expect({ orphan: v.orphan, reason: v.reason, ownerId: v.ownerId }).toEqual({ orphan, reason, ownerId });
  });

  test("a nodepool orphan carries its cluster for logs; every object of a gone owner goes", () => {
    const vs = findOrphans([job(pool("c1", "np1"), { name: "a" }), job(pool("c1", "np1"), { name: "b" }), job(pool("c1", "np2"), { name: "c" })], new Map([["np1", "gone"], ["np2", "exists"]]), nodepool);
    expect(vs.filter((v) => v.orphan).map((v) => [v.object.name, v.ownerId, v.clusterId])).toEqual([["a", "np1", "c1"], ["b", "np1", "c1"]]);
  });
});

describe("ownersToCheck: one API question per distinct resource", () => {
  test.each<[string, SweepingAdapter, OwnedObject[], string[]]>([
    ["two objects of one cluster → asked once", validation, [job(ours("c1")), job(ours("c1"), { name: "validation-c1-gen2" }), job(ours("c2"))], ["c1", "c2"]],
    ["other adapters' objects and unlabelled ones → not asked", validation, [job({ "hyperfleet.io/adapter": "dns", "hyperfleet.io/cluster-id": "c3" }), job({ "hyperfleet.io/adapter": "validation" })], []],
    ["objects already being deleted → not asked", validation, [job(ours("c1"), { deleting: true })], []],
    ["nodepool adapter → asks about nodepools, not clusters", nodepool, [job(pool("c1", "np1")), job(pool("c1", "np2"))], ["np1", "np2"]],
    ["nothing owned → nothing asked", validation, [], []],
  ])("%s", (_name, adapter, objects, want) => expect(ownersToCheck(objects, adapter)).toEqual(want));
});

describe("isLabelValue: only an id that can name an object goes into a label selector", () => {
  test.each<[string, string, boolean]>([
    ["a UUID", "0190aaaa-0000-7000-8000-000000000000", true],
    ["exactly 63 characters", "a".repeat(63), true],
    ["64 characters", "a".repeat(64), false],
    ["a selector smuggled in an event id", "x,hyperfleet.io/adapter!=validation", false],
    ["spaces", "a b", false],
    ["a trailing dash", "abc-", false],
    ["empty", "", false],
  ])("%s", (_name, id, want) => expect(isLabelValue(id)).toBe(want));
});
