import type { KubeObject, ObjectRef, WatchEventType } from "./kube.js";

export interface ObjectCacheOptions {
  /** Most objects kept; past it the oldest go (a read of an evicted object goes to Kubernetes). */
  maxObjects?: number;
  /**
   * A kind's entries are trusted only while its watch has shown signs of life (its listing, an event
   * or a bookmark) this recently: a watch that stalls without ending (a half-open connection) would
   * otherwise keep stale objects forever. Quiet kinds are read from Kubernetes.
   */
  freshMs?: number;
  now?: () => number;
}

/**
 * The adapter's own objects as its list+watch last saw them, like controller-runtime's informer
 * cache: a reconcile reads the object it is about to converge from here instead of asking
 * Kubernetes. A Kubernetes GET cost an adapter ~0.7 ms of CPU on this VM (client-node's request
 * pipeline and typed deserialisation), and there was one per object per reconcile.
 *
 * It only ever says what an object looks like, never that one is absent (an object without our label
 * is invisible to the watch, and only a GET finds it before a create); and only for kinds whose watch
 * is up and recently heard from. A stale answer is harmless in a level-triggered loop: the change
 * that made it stale arrives as a watch event, which updates the cache and then reconciles the
 * resource again. Writes and read-after-write checks always go to Kubernetes.
 */
export interface ObjectCache {
  /** The object as last seen, or undefined when Kubernetes must be asked. */
  lookup(ref: ObjectRef): KubeObject | undefined;
  /** A kind's complete listing (its watch starts from the listing's resourceVersion). */
  replace(apiVersion: string, kind: string, items: KubeObject[]): void;
  /** A watch event (a bookmark too: it shows the watch is alive). */
  apply(type: WatchEventType, obj: KubeObject): void;
  /** The kind's watch ended: forget the kind until it is listed again. */
  invalidate(apiVersion: string, kind: string): void;
  /** The object was just deleted by us. */
  forget(ref: ObjectRef): void;
  size(): number;
}

export function createObjectCache(opts: ObjectCacheOptions = {}): ObjectCache {
  const maxObjects = opts.maxObjects ?? 20_000;
  const freshMs = opts.freshMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const objects = new Map<string, KubeObject>();
  /** Watched kinds, with when their watch was last heard from. */
  const heard = new Map<string, number>();
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
      const last = heard.get(kindKey(ref.apiVersion, ref.kind));
      if (last === undefined || now() - last > freshMs) return undefined;
      return objects.get(key(ref.apiVersion, ref.kind, ref.namespace, ref.name));
    },
    replace(apiVersion, kind, items) {
      const k = kindKey(apiVersion, kind);
      dropKind(k);
      heard.set(k, now());
      // Listed items may lack apiVersion/kind (a List's items often do).
      for (const o of items) put({ ...o, apiVersion: o.apiVersion ?? apiVersion, kind: o.kind ?? kind });
    },
    apply(type, obj) {
      const k = kindKey(obj.apiVersion ?? "", obj.kind ?? "");
      if (heard.has(k)) heard.set(k, now());
      if (type === "ADDED" || type === "MODIFIED") put(obj);
      else if (type === "DELETED") objects.delete(keyOf(obj));
    },
    invalidate(apiVersion, kind) {
      const k = kindKey(apiVersion, kind);
      heard.delete(k);
      dropKind(k);
    },
    forget(ref) {
      objects.delete(key(ref.apiVersion, ref.kind, ref.namespace, ref.name));
    },
    size: () => objects.size,
  };
}
