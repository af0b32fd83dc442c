import { LABEL_ADAPTER, LABEL_CLUSTER, LABEL_NODEPOOL } from "./labels.js";

/** One of the adapter's Kubernetes objects as a sweep sees it (from a label-selector list or an informer store). */
export interface OwnedObject {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  /** Kubernetes is already deleting it (metadata.deletionTimestamp). */
  deleting: boolean;
}

/** Which adapter is sweeping: its name (label) and the kind of resource its objects belong to. */
export interface SweepingAdapter {
  name: string;
  resourceKind: "clusters" | "nodepools";
}

/** What the API said about a resource: `unknown` when it could not answer (an error or a timeout). */
export type Existence = "exists" | "gone" | "unknown";

export type OrphanReason = "OwnerGone" | "OwnerExists" | "OwnerUnknown" | "NoOwnerLabel" | "OtherAdapter" | "AlreadyDeleting";

export interface OrphanVerdict {
  object: OwnedObject;
  /** Delete it: its resource is gone. */
  orphan: boolean;
  reason: OrphanReason;
  /** The resource it belongs to: a cluster, or for a nodepool adapter a nodepool. */
  ownerId?: string;
  /** Its cluster (a nodepool's, for a nodepool adapter), for logs. */
  clusterId?: string;
}

/**
 * Whether `id` can be a Kubernetes label value (at most 63 alphanumerics, '-', '_', '.', alphanumeric at
 * both ends). Events carry any non-empty string as an id; only one that can name an object is put in a
 * label selector.
 */
export function isLabelValue(id: string): boolean {
  return id.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(id);
}

/** The id of the resource an object belongs to (a cluster, or a nodepool for a nodepool adapter), if it names one. */
export function ownerOf(obj: Pick<OwnedObject, "labels">, adapter: SweepingAdapter): string | undefined {
  return obj.labels[adapter.resourceKind === "nodepools" ? LABEL_NODEPOOL : LABEL_CLUSTER] || undefined;
}

/** The distinct resources the API must be asked about: owners of this adapter's objects not already being deleted. */
export function ownersToCheck(objects: readonly OwnedObject[], adapter: SweepingAdapter): string[] {
  const ids = new Set<string>();
  for (const o of objects) {
    const owner = o.labels[LABEL_ADAPTER] === adapter.name && !o.deleting ? ownerOf(o, adapter) : undefined;
    if (owner) ids.add(owner);
  }
  return [...ids];
}

/**
 * Like Kubernetes' garbage collector for owner references: an object of this adapter whose resource the
 * API says is gone is an orphan. Only `gone` counts: an owner the API could not answer for, or was not
 * asked about, keeps its objects. Resource ids are never reused, so gone is forever and deleting is
 * always right. An object without an owner label is never ours to judge.
 */
export function findOrphans(objects: readonly OwnedObject[], known: ReadonlyMap<string, Existence>, adapter: SweepingAdapter): OrphanVerdict[] {
  return objects.map((object) => {
    if (object.labels[LABEL_ADAPTER] !== adapter.name) return { object, orphan: false, reason: "OtherAdapter" };
    const ownerId = ownerOf(object, adapter);
    if (!ownerId) return { object, orphan: false, reason: "NoOwnerLabel" };
    const clusterId = object.labels[LABEL_CLUSTER] || undefined;
    if (object.deleting) return { object, orphan: false, reason: "AlreadyDeleting", ownerId, clusterId };
    const existence = known.get(ownerId) ?? "unknown";
    const reason: OrphanReason = existence === "gone" ? "OwnerGone" : existence === "exists" ? "OwnerExists" : "OwnerUnknown";
    return { object, orphan: existence === "gone", reason, ownerId, clusterId };
  });
}
