import type { Logger } from "../shared/log.js";
import type { AdapterPlan } from "./adapter-config.js";
import type { KubeInformer, KubeObject, KubeObjects, WatchEventType } from "./kube.js";
import type { ObjectCache } from "./object-cache.js";
import { LABEL_ADAPTER, LABEL_CLUSTER, LABEL_NODEPOOL } from "./reconcile.js";

/**
 * The resource whose reconcile a change to one of the adapter's own objects calls for, if any. Pure.
 * MODIFIED (a Job finished, a record became ready, someone edited it) and DELETED (someone removed it:
 * the reconcile re-creates it) do; ADDED does not: it is the adapter's own create, whose reconcile has
 * just reported, or the listing a new watch starts with. Only the adapter's own objects count.
 */
export function resourceToReconcile(type: WatchEventType, obj: KubeObject, plan: Pick<AdapterPlan, "name" | "resourceKind">): string | undefined {
  if (type !== "MODIFIED" && type !== "DELETED") return undefined;
  const labels = obj.metadata?.labels ?? {};
  // The watch asks for this label already; a server that sends others' objects anyway changes nothing.
  if (labels[LABEL_ADAPTER] !== plan.name) return undefined;
  const resourceKind = plan.resourceKind;
  return (resourceKind === "nodepools" ? labels[LABEL_NODEPOOL] : labels[LABEL_CLUSTER]) || undefined;
}

export interface OwnedWatchDeps {
  plan: AdapterPlan;
  kube: KubeObjects;
  /** Queues a reconcile of the resource (coalesced with events for it). */
  poke: (resourceId: string, why: string) => void;
  log: Logger;
  /** Wait before starting an informer again after it failed. */
  retryMs?: number;
  /** Answers from each kind's informer while it is up (see object-cache.ts); reconciles read from it. */
  cache?: ObjectCache;
}

/**
 * Keeps an informer (client-node's ListWatch, see kube.ts) on each kind of object this adapter owns
 * (its label, in its namespace) and reconciles their resource when one changes, like
 * controller-runtime's Owns(): a finished Job is reported within moments instead of at the Sentinel's
 * next event. Only a shortcut: the Sentinel's events remain the guarantee, so an informer that is down
 * (Kubernetes unreachable) costs latency, never correctness. The informers' stores are the read cache.
 */
export function watchOwnedObjects(deps: OwnedWatchDeps): { stop(): void } {
  const { plan, kube, log, cache } = deps;
  const retryMs = deps.retryMs ?? 2000;
  const selector = `${LABEL_ADAPTER}=${plan.name}`;
  const kinds = [...new Map(plan.objects.map((o) => [`${o.apiVersion}/${o.kind}`, o])).values()];
  const informers: KubeInformer[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const later = (fn: () => void) => {
    if (stopped) return;
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, retryMs);
    timers.add(t);
  };
  const poke = (type: WatchEventType, obj: KubeObject) => {
    const id = stopped ? undefined : resourceToReconcile(type, obj, plan);
    if (id) deps.poke(id, `${obj.kind} ${obj.metadata?.name} ${type.toLowerCase()}`);
  };

  const watchKind = async (apiVersion: string, kind: string) => {
    let informer: KubeInformer;
    try {
      informer = await kube.informer(apiVersion, kind, plan.namespace, selector);
    } catch (err) {
      log.debug({ kind, err: String(err) }, "cannot watch yet; trying again");
      return later(() => void watchKind(apiVersion, kind));
    }
    if (stopped) return;
    informers.push(informer);
    // The store is updated before these run, so the reconcile they queue reads the change. A listing
    // after 410 Gone reports what changed meanwhile the same way (update, delete).
    informer.on("update", (o) => poke("MODIFIED", o));
    informer.on("delete", (o) => poke("DELETED", o));
    let attempt = 0;
    const start = async () => {
      const mine = ++attempt;
      try {
        await informer.start(); // resolves once listed and watching, or after reporting an error
      } catch (err) {
        return failed(err);
      }
      if (mine === attempt && !stopped) cache?.attach(apiVersion, kind, informer);
    };
    // The informer has stopped (the list or the watch failed): its store is no longer kept current.
    const failed = (err: unknown) => {
      attempt++;
      cache?.detach(apiVersion, kind);
      log.debug({ kind, err: String(err) }, "informer failed; starting it again");
      later(() => void start());
    };
    informer.on("error", failed);
    await start();
  };

  for (const o of kinds) void watchKind(o.apiVersion, o.kind);
  return {
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      for (const i of informers) void i.stop();
      // Reconciles still draining must not read a cache no informer keeps current.
      for (const o of kinds) cache?.detach(o.apiVersion, o.kind);
    },
  };
}
