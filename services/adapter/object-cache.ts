import type { KubeInformer, KubeObject, ObjectRef } from "./kube.js";

/** Where a kind's objects are read from: its informer's store. */
export type KindStore = Pick<KubeInformer, "get">;

/**
 * The adapter's own objects as their informers (owned-watch.ts) last saw them, like controller-runtime's
 * cached client: a reconcile reads the object it is about to converge from memory instead of asking
 * Kubernetes. A Kubernetes GET cost an adapter ~0.7 ms of CPU (client-node's request pipeline and typed
 * deserialisation), and there was one per object per reconcile.
 *
 * It only ever says what an object looks like, never that one is absent (an object without our label
 * is invisible to the informer): on a miss for a watched kind the reconcile creates, and AlreadyExists
 * sends it to Kubernetes to read. It answers only for kinds whose informer has listed and is watching.
 * While an informer re-watches or re-lists its store stays readable, as client-go's does: a stale answer is harmless in a level-triggered loop, because the
 * change that made it stale arrives as an informer event, which updates the store and then reconciles
 * the resource again. Writes and read-after-write checks always go to Kubernetes.
 */
export interface ObjectCache {
  /** The object as last seen, or undefined when Kubernetes must be asked. */
  lookup(ref: ObjectRef): KubeObject | undefined;
  /**
   * The kind's informer is watching: an object of it that lookup() does not know is most likely
   * absent (this adapter's objects carry its label), though it may exist unlabelled or not yet seen.
   */
  watches(ref: ObjectRef): boolean;
  /** The object was just deleted by us: not answered until its informer sees a newer version. */
  forget(ref: ObjectRef): void;
  /** The kind's informer has listed and is watching: answer from its store. */
  attach(apiVersion: string, kind: string, store: KindStore): void;
  /** The kind's informer failed or stopped: answer nothing for it. */
  detach(apiVersion: string, kind: string): void;
}

/**
 * No size bound of its own: each kind's informer holds every object the adapter's label selector
 * matches (as client-go's does), which is as many as the resources the adapter converges.
 */
export function createObjectCache(): ObjectCache {
  const stores = new Map<string, KindStore>();
  // The stored objects themselves: an informer replaces an object on every change, so a newer version is
  // answered again, and entries go with the objects they name.
  const forgotten = new WeakSet<KubeObject>();
  const find = (ref: ObjectRef) => stores.get(`${ref.apiVersion}/${ref.kind}`)?.get(ref.name, ref.namespace);

  return {
    lookup(ref) {
      const o = find(ref);
      return o && !forgotten.has(o) ? o : undefined;
    },
    watches(ref) {
      return stores.has(`${ref.apiVersion}/${ref.kind}`);
    },
    forget(ref) {
      const o = find(ref);
      if (o) forgotten.add(o);
    },
    attach(apiVersion, kind, store) {
      stores.set(`${apiVersion}/${kind}`, store);
    },
    detach(apiVersion, kind) {
      stores.delete(`${apiVersion}/${kind}`);
    },
  };
}
