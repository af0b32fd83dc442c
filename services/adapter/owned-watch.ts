import type { Logger } from "../shared/log.js";
import type { AdapterPlan } from "./adapter-config.js";
import type { KubeObject, KubeObjects, WatchEventType } from "./kube.js";
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

/** How long the server keeps one watch open before the adapter lists and watches again. */
const WATCH_SECONDS = 300;
/** A watch still open this long after its timeout is ended by the adapter (a half-open connection sends no end). */
const WATCH_GRACE_MS = 30_000;

export interface OwnedWatchDeps {
  plan: AdapterPlan;
  kube: KubeObjects;
  /** Queues a reconcile of the resource (coalesced with events for it). */
  poke: (resourceId: string, why: string) => void;
  log: Logger;
  /** Wait before watching again after the stream ended or failed. */
  retryMs?: number;
  /** Kept current from a list and the watch (see object-cache.ts); reconciles read from it. */
  cache?: ObjectCache;
  /** Server-side timeout of each watch (plus up to a fifth more, spread); default 300. */
  watchSeconds?: number;
  /** How long past its timeout a watch may stay open before the adapter ends it; default 30 s. */
  watchGraceMs?: number;
}

/**
 * Watches the objects this adapter owns (its label, in its namespace) and reconciles their resource
 * when one changes, like controller-runtime's Owns(): a finished Job is reported within moments
 * instead of at the Sentinel's next event. Only a shortcut: the Sentinel's events remain the
 * guarantee, so a watch that is down (Kubernetes unreachable) costs latency, never correctness. With
 * a cache it is also an informer (see object-cache.ts): a stream that ends empties its kind until it is
 * listed again, and none is trusted past its timeout plus a grace period.
 */
export function watchOwnedObjects(deps: OwnedWatchDeps): { stop(): void } {
  const { plan, kube, log } = deps;
  const retryMs = deps.retryMs ?? 2000;
  const watchSeconds = deps.watchSeconds ?? WATCH_SECONDS;
  const graceMs = deps.watchGraceMs ?? WATCH_GRACE_MS;
  let stopped = false;
  const kinds = [...new Map(plan.objects.map((o) => [`${o.apiVersion}/${o.kind}`, o])).values()];
  const streams = new Map<string, { stop(): void }>();
  const timers = new Set<NodeJS.Timeout>();

  const poke = (type: WatchEventType, obj: KubeObject) => {
    const id = resourceToReconcile(type, obj, plan);
    if (id) deps.poke(id, `${obj.kind} ${obj.metadata?.name} ${type.toLowerCase()}`);
  };

  const start = async (apiVersion: string, kind: string) => {
    const key = `${apiVersion}/${kind}`;
    const selector = `${LABEL_ADAPTER}=${plan.name}`;
    let ended = false;
    const began = Date.now();
    let deadline: NodeJS.Timeout | undefined;
    const again = (err?: unknown) => {
      if (ended) return;
      ended = true;
      if (deadline) {
        clearTimeout(deadline);
        timers.delete(deadline);
      }
      streams.delete(key);
      deps.cache?.invalidate(apiVersion, kind);
      if (stopped) return;
      if (err) log.debug({ kind, err: String(err) }, "watch ended; watching again");
      // A watch the server ended on schedule is resumed at once; a failed or short-lived one after retryMs.
      const t = setTimeout(() => {
        timers.delete(t);
        void start(apiVersion, kind);
      }, err || Date.now() - began < 1000 ? retryMs : 0);
      timers.add(t);
    };
    let stream: { stop(): void } | undefined;
    const timeoutSeconds = watchSeconds + Math.floor((Math.random() * watchSeconds) / 5);
    try {
      // With a cache: list, then watch from the listing's resourceVersion (an informer), so no change
      // between the two is missed. Without one, changes from now on are all the pokes need.
      let resourceVersion: string | undefined;
      let missed: { changed: KubeObject[]; removed: KubeObject[] } = { changed: [], removed: [] };
      if (deps.cache) {
        const listed = await kube.list(apiVersion, kind, plan.namespace, selector);
        if (stopped) return;
        missed = deps.cache.replace(apiVersion, kind, listed.items);
        resourceVersion = listed.resourceVersion;
      }
      stream = await kube.watch(
        apiVersion,
        kind,
        plan.namespace,
        selector,
        (type, obj) => {
          if (type === "ERROR") {
            // e.g. 410 Gone: the resourceVersion is too old to continue from; list and watch again.
            stream?.stop();
            again(new Error(`watch error: ${(obj as { message?: string }).message ?? "unknown"}`));
            return;
          }
          deps.cache?.apply(type, obj);
          poke(type, obj);
        },
        again,
        // The server ends each watch after a few minutes (spread by up to a fifth, so kinds do not re-list together):
        // the cache is then listed afresh. A stream that outlives that (a half-open connection, whose
        // end never arrives) is ended here, which bounds what a silently broken stream can hide.
        { resourceVersion, timeoutSeconds },
      );
      if (stopped || ended) return stream.stop();
      streams.set(key, stream);
      deps.cache?.answer(apiVersion, kind);
      // Changes between the previous watch's end and this listing reached no watch: reconcile them now.
      for (const o of missed.changed) poke("MODIFIED", o);
      for (const o of missed.removed) poke("DELETED", o);
      deadline = setTimeout(() => {
        stream?.stop();
        again(new Error(`watch still open ${timeoutSeconds} s after it started`));
      }, timeoutSeconds * 1000 + graceMs);
      timers.add(deadline);
    } catch (err) {
      again(err);
    }
  };

  for (const o of kinds) void start(o.apiVersion, o.kind);
  return {
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      for (const s of streams.values()) s.stop();
      streams.clear();
      // Reconciles still draining must not read a cache no watch keeps current.
      for (const o of kinds) deps.cache?.invalidate(o.apiVersion, o.kind);
    },
  };
}
