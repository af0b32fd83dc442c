import type { KubeObject, ObjectRef, WatchEventType } from "./kube.js";

export interface ObjectCacheOptions {
  /** Most objects kept; past it the oldest go (a read of an evicted object goes to Kubernetes). */
  maxObjects?: number;
}

/**
 * The adapter's own objects as its list+watch last saw them, like controller-runtime's informer
 * cache: a reconcile reads the object it is about to converge from here instead of asking
 * Kubernetes. A Kubernetes GET cost an adapter ~0.7 ms of CPU on this VM (client-node's request
 * pipeline and typed deserialisation), and there was one per object per reconcile.
 *
 * It only ever says what an object looks like, never that one is absent (an object without our label
 * is invisible to the watch, and only a GET finds it before a create); and only for kinds whose watch
 * is up (owned-watch.ts also ends a watch that outlives its timeout, which bounds what a silently
 * broken stream can hide). A stale answer is harmless in a level-triggered loop: the change
 * that made it stale arrives as a watch event, which updates the cache and then reconciles the
 * resource again. Writes and read-after-write checks always go to Kubernetes.
 */
export interface ObjectCache {
  /** The object as last seen, or undefined when Kubernetes must be asked. */
  lookup(ref: ObjectRef): KubeObject | undefined;
  /** A kind's complete listing (its watch starts from the listing's resourceVersion). */
  replace(apiVersion: string, kind: string, items: KubeObject[]): void;
  /** A watch event. */
  apply(type: WatchEventType, obj: KubeObject): void;
  /** The kind's watch ended: forget the kind until it is listed again. */
  invalidate(apiVersion: string, kind: string): void;
  /** The object was just deleted by us. */
  forget(ref: ObjectRef): void;
  size(): number;
}

export function createObjectCache(opts: ObjectCacheOptions = {}): ObjectCache {
  const maxObjects = opts.maxObjects ?? 20_000;
  const objects = new Map<string, KubeObject>();
  /** Kinds listed and watched since. */
  const watched = new Set<string>();
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
    while (objects.size > maxObjects) objects.delete(objects.keys().next().value as string);
  };

  return {
    lookup(ref) {
      if (!watched.has(kindKey(ref.apiVersion, ref.kind))) return undefined;
      return objects.get(key(ref.apiVersion, ref.kind, ref.namespace, ref.name));
    },
    replace(apiVersion, kind, items) {
      const k = kindKey(apiVersion, kind);
      dropKind(k);
      watched.add(k);
      // Listed items may lack apiVersion/kind (a List's items often do).
      for (const o of items) put({ ...o, apiVersion: o.apiVersion ?? apiVersion, kind: o.kind ?? kind });
    },
    apply(type, obj) {
      if (type === "ADDED" || type === "MODIFIED") put(obj);
      else if (type === "DELETED") objects.delete(keyOf(obj));
    },
    invalidate(apiVersion, kind) {
      const k = kindKey(apiVersion, kind);
      watched.delete(k);
      dropKind(k);
    },
    forget(ref) {
      objects.delete(key(ref.apiVersion, ref.kind, ref.namespace, ref.name));
    },
    size: () => objects.size,
  };
}
