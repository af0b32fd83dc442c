import type { KubeObject, ObjectRef, WatchEventType } from "./kube.js";

/** What the cache knows about one object: it is there (as `obj`), it is not there, or the cache cannot tell. */
export type Lookup = { known: true; obj: KubeObject | undefined } | { known: false };

/**
 * The adapter's own objects as its list+watch last saw them, like controller-runtime's informer
 * cache: a reconcile reads the object it is about to converge from here instead of asking
 * Kubernetes. A Kubernetes GET cost an adapter ~0.7 ms of CPU on this VM (client-node's request
 * pipeline and typed deserialisation), and there was one per object per reconcile.
 *
 * The cache answers only for kinds whose listing is complete (listed, watched since, nothing
 * evicted); otherwise the caller reads Kubernetes. A stale answer is harmless in a level-triggered
 * loop: the change that made it stale arrives as a watch event, which updates the cache and then
 * reconciles the resource again. Writes (create, patch, delete) and read-after-write checks always
 * go to Kubernetes.
 */
export interface ObjectCache {
  lookup(ref: ObjectRef): Lookup;
  /** A kind's complete listing (its watch starts from the listing's resourceVersion). */
  replace(apiVersion: string, kind: string, items: KubeObject[]): void;
  /** A watch event for a kind being watched. */
  apply(type: WatchEventType, obj: KubeObject): void;
  /** The kind's watch ended: answer nothing for it until it is listed again. */
  invalidate(apiVersion: string, kind: string): void;
  /** The object was just deleted by us: forget it (its DELETED event may come later). */
  forget(ref: ObjectRef): void;
  size(): number;
}

/** `maxObjects` bounds memory: past it, the oldest entries go and their kind stops answering "absent". */
export function createObjectCache(maxObjects = 20_000): ObjectCache {
  const objects = new Map<string, KubeObject>();
  /** Kinds whose listing is complete: absence from `objects` means the object does not exist. */
  const complete = new Set<string>();
  const kindKey = (apiVersion: string, kind: string) => `${apiVersion}/${kind}`;
  const key = (apiVersion: string, kind: string, namespace: string | undefined, name: string) => `${apiVersion}/${kind}/${namespace ?? ""}/${name}`;
  const keyOf = (o: KubeObject) => key(o.apiVersion ?? "", o.kind ?? "", o.metadata?.namespace, o.metadata?.name ?? "");

  const dropKind = (k: string) => {
    for (const id of objects.keys()) if (id.startsWith(`${k}/`)) objects.delete(id);
  };
  const put = (o: KubeObject) => {
    const id = keyOf(o);
    objects.delete(id); // re-insert: Map order is then least recently written first
    objects.set(id, o);
    while (objects.size > maxObjects) {
      const oldest = objects.keys().next().value as string;
      objects.delete(oldest);
      // Its kind no longer knows every object: absence stops being an answer.
      complete.delete(oldest.split("/").slice(0, -2).join("/"));
    }
  };

  return {
    lookup(ref) {
      const obj = objects.get(key(ref.apiVersion, ref.kind, ref.namespace, ref.name));
      if (obj) return { known: true, obj };
      return complete.has(kindKey(ref.apiVersion, ref.kind)) ? { known: true, obj: undefined } : { known: false };
    },
    replace(apiVersion, kind, items) {
      const k = kindKey(apiVersion, kind);
      dropKind(k);
      complete.add(k);
      // Listed items may lack apiVersion/kind (a List's items often do): the listing's own apply.
      for (const o of items) put({ ...o, apiVersion: o.apiVersion ?? apiVersion, kind: o.kind ?? kind });
    },
    apply(type, obj) {
      if (type === "ADDED" || type === "MODIFIED") put(obj);
      else if (type === "DELETED") objects.delete(keyOf(obj));
    },
    invalidate(apiVersion, kind) {
      const k = kindKey(apiVersion, kind);
      complete.delete(k);
      dropKind(k);
    },
    forget(ref) {
      objects.delete(key(ref.apiVersion, ref.kind, ref.namespace, ref.name));
    },
    size: () => objects.size,
  };
}
