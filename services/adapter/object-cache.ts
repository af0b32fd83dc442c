import type { KubeObject, ObjectRef, WatchEventType } from "./kube.js";

/** Default most objects kept (OBJECT_CACHE_MAX). */
export const OBJECT_CACHE_MAX = 20_000;

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
  /**
   * A kind's complete listing (its watch starts from the listing's resourceVersion); answers what
   * changed since the kind's previous listing (nothing on the first), which no watch reported.
   */
  replace(apiVersion: string, kind: string, items: KubeObject[]): { changed: KubeObject[]; removed: KubeObject[] };
  /** The kind's watch is established: answer for it. */
  answer(apiVersion: string, kind: string): void;
  /** A watch event. */
  apply(type: WatchEventType, obj: KubeObject): void;
  /** The kind's watch ended: answer nothing for it until it is listed and watched again. */
  invalidate(apiVersion: string, kind: string): void;
  /** The object was just deleted by us. */
  forget(ref: ObjectRef): void;
  size(): number;
}

export function createObjectCache(opts: ObjectCacheOptions = {}): ObjectCache {
  const maxObjects = opts.maxObjects ?? OBJECT_CACHE_MAX;
  const objects = new Map<string, KubeObject>();
  /** Kinds whose watch is up: the cache answers for them. */
  const watched = new Set<string>();
  /** Kinds listed at least once (a later listing is compared with what is held). */
  const listed = new Set<string>();
  const kindKey = (apiVersion: string, kind: string) => `${apiVersion}/${kind}`;
  const key = (apiVersion: string, kind: string, namespace: string | undefined, name: string) => `${apiVersion}/${kind}/${namespace ?? ""}/${name}`;
  const keyOf = (o: KubeObject) => key(o.apiVersion ?? "", o.kind ?? "", o.metadata?.namespace, o.metadata?.name ?? "");

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
      const before = new Map<string, KubeObject>();
      for (const [id, o] of objects) if (id.startsWith(`${k}/`)) before.set(id, o);
      for (const id of before.keys()) objects.delete(id);
      const changed: KubeObject[] = [];
      for (const item of items) {
        // Listed items may lack apiVersion/kind (a List's items often do).
        const o = { ...item, apiVersion: item.apiVersion ?? apiVersion, kind: item.kind ?? kind };
        const id = keyOf(o);
        const old = before.get(id);
        before.delete(id);
        if (old && old.metadata?.resourceVersion !== o.metadata?.resourceVersion) changed.push(o);
        put(o);
      }
      const first = !listed.has(k);
      listed.add(k);
      return first ? { changed: [], removed: [] } : { changed, removed: [...before.values()] };
    },
    answer(apiVersion, kind) {
      watched.add(kindKey(apiVersion, kind));
    },
    apply(type, obj) {
      if (type === "ADDED" || type === "MODIFIED") put(obj);
      else if (type === "DELETED") objects.delete(keyOf(obj));
    },
    invalidate(apiVersion, kind) {
      // Entries stay (unanswered) so that the next listing can tell what changed meanwhile.
      watched.delete(kindKey(apiVersion, kind));
    },
    forget(ref) {
      objects.delete(key(ref.apiVersion, ref.kind, ref.namespace, ref.name));
    },
    size: () => objects.size,
  };
}
