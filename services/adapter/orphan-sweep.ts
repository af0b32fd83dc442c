import { Code, ConnectError } from "@connectrpc/connect";
import { ResourceView } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { withRetry, type ApiClient } from "../shared/api-client.js";
import type { Logger } from "../shared/log.js";
import type { AdapterPlan } from "./adapter-config.js";
import { LABEL_ADAPTER, LABEL_CLUSTER, LABEL_NODEPOOL } from "./core/labels.js";
import { findOrphans, isLabelValue, ownersToCheck, type Existence, type OrphanVerdict, type OwnedObject } from "./core/orphans.js";
import type { KubeObject, KubeObjects, ObjectRef } from "./kube.js";

/** What started a sweep: the timer (ORPHAN_SWEEP_INTERVAL), or a reconcile that found its resource NotFound. */
export type SweepTrigger = "interval" | "resource-gone";
/** Where a sweep failed, for metrics: listing objects, asking the API, deleting an object. */
export type SweepErrorStage = "list" | "api" | "delete";

export interface SweepResult {
  /** Objects of this adapter listed. */
  objects: number;
  /** Distinct resources the API was asked about, and what it said. */
  owners: number;
  gone: number;
  unknown: number;
  /** The orphans this sweep deleted. */
  deleted: ObjectRef[];
  errors: number;
}

export interface OrphanSweepDeps {
  plan: Pick<AdapterPlan, "name" | "resourceKind" | "namespace" | "objects">;
  api: ApiClient;
  kube: KubeObjects;
  log: Logger;
  /** API questions (and deletes) in flight at once (default 8). */
  concurrency?: number;
  /** Resources per page when the sweep lists them (default 1,000, the API's most). */
  listPageSize?: number;
  /** Metrics. */
  onDeleted?: () => void;
  onError?: (stage: SweepErrorStage) => void;
  onDone?: (trigger: SweepTrigger, seconds: number) => void;
}

export interface OrphanSweeper {
  /** One sweep of every object this adapter owns. */
  sweep(trigger?: SweepTrigger): Promise<SweepResult>;
  /** One sweep of the objects of one resource (the reconcile found it NotFound). */
  sweepOwner(resourceId: string): Promise<SweepResult>;
  /** Sweeps every `intervalMs` (±10 %, so replicas drift apart); 0 turns the timer off. */
  start(intervalMs: number): void;
  /** Stops the timer, cuts a full sweep in progress short (what it has not asked about is kept) and waits for it. */
  stop(): Promise<void>;
}

/**
 * Kubernetes' garbage collector for owner references, with the API as the owner's store: lists the
 * adapter's objects by its label, asks the API about each distinct resource they belong to (past
 * BULK_OWNERS, only about those its listing of the kind does not show), and deletes
 * the objects whose resource is NotFound (core/orphans.ts decides). Resource ids are never reused, so
 * NotFound is forever; an error or a timeout is never read as gone. Deletes propagate in the
 * background, as the collector's do for a background-deleted owner (a Job's pods follow it), and an
 * object already gone counts as done, so replicas sweeping at once are harmless.
 */
export function createOrphanSweeper(deps: OrphanSweepDeps): OrphanSweeper {
  const { plan, api, kube, log } = deps;
  const concurrency = deps.concurrency ?? 8;
  const kinds = [...new Map(plan.objects.map((o) => [`${o.apiVersion}/${o.kind}`, o])).values()];
  const ownerLabel = plan.resourceKind === "nodepools" ? LABEL_NODEPOOL : LABEL_CLUSTER;

  // stop() aborts a full sweep in progress: its remaining questions go unasked (their objects are
  // kept). A sweep of one resource's objects (a reconcile found it NotFound) is short and finishes.
  const halt = new AbortController();
  const never = new AbortController().signal;

  const existence = async (id: string, signal: AbortSignal): Promise<Existence> => {
    try {
      // Each call has the client's deadline (API_TIMEOUT); only NotFound means gone.
      await withRetry<unknown>(() => (plan.resourceKind === "nodepools" ? api.nodepools.getNodePool({ id }, { signal }) : api.clusters.getCluster({ id }, { signal })), { attempts: 3, signal });
      return "exists";
    } catch (err) {
      const e = ConnectError.from(err);
      if (e.code === Code.NotFound) return "gone";
      if (signal.aborted) return "unknown";
      deps.onError?.("api");
      log.warn({ ...idFields(id), error: e.message }, "orphan sweep: the API could not say whether the resource exists; its objects are kept");
      return "unknown";
    }
  };

  /**
   * Every resource of the adapter's kind, deleting ones included, from the API's list in pages of
   * 1,000 (STATUS view: ids and status only); undefined when the list fails. A fleet of 10,000 is
   * then 10 calls instead of 10,000 GetCluster.
   */
  const pageSize = deps.listPageSize ?? LIST_PAGE;
  const listed = async (signal: AbortSignal): Promise<Set<string> | undefined> => {
    const ids = new Set<string>();
    let pageToken = "";
    try {
      for (let pages = 0; ; pages++) {
        // A token that does not move on (a broken API or proxy) would page forever.
        if (pages === MAX_LIST_PAGES) throw new Error(`the listing did not end after ${MAX_LIST_PAGES} pages`);
        const page = plan.resourceKind === "nodepools"
          ? await withRetry(() => api.nodepools.listNodePools({ pageSize, pageToken, showDeleted: true, view: ResourceView.STATUS }, { signal }), { attempts: 3, signal }).then((r) => ({ items: r.nodepools, next: r.nextPageToken }))
          : await withRetry(() => api.clusters.listClusters({ pageSize, pageToken, showDeleted: true, view: ResourceView.STATUS }, { signal }), { attempts: 3, signal }).then((r) => ({ items: r.clusters, next: r.nextPageToken }));
        for (const r of page.items) ids.add(r.id);
        if (page.next === pageToken) throw new Error("the listing returned the same page token twice");
        pageToken = page.next;
        if (pageToken === "" || signal.aborted) break;
      }
      return signal.aborted ? undefined : ids;
    } catch (err) {
      if (!signal.aborted) log.warn({ error: ConnectError.from(err).message }, "orphan sweep: cannot list the resources; asking about each instead");
      return undefined;
    }
  };

  const run = async (trigger: SweepTrigger, selector: string, signal: AbortSignal): Promise<SweepResult> => {
    const started = performance.now();
    const result: SweepResult = { objects: 0, owners: 0, gone: 0, unknown: 0, deleted: [], errors: 0 };
    const fail = (stage: SweepErrorStage) => {
      result.errors++;
      deps.onError?.(stage);
    };
    // Listed from Kubernetes, not the informers' stores: a kind whose informer is down would hide its orphans.
    const objects: OwnedObject[] = [];
    for (const k of kinds) {
      try {
        const { items } = await kube.list(k.apiVersion, k.kind, plan.namespace, selector);
        for (const o of items) objects.push(owned(o, k.apiVersion, k.kind));
      } catch (err) {
        fail("list");
        log.warn({ kind: k.kind, error: String(err) }, "orphan sweep: cannot list");
      }
    }
    result.objects = objects.length;
    const owners = ownersToCheck(objects, plan);
    const known = new Map<string, Existence>();
    // Many owners: one listing says which exist, and only the others are asked about one by one
    // (NotFound from a GET is what makes an object an orphan; a list only rules owners out).
    const existing = owners.length > BULK_OWNERS ? await listed(signal) : undefined;
    for (const id of owners) if (existing?.has(id)) known.set(id, "exists");
    await eachLimited(owners.filter((id) => !known.has(id)), concurrency, signal, async (id) => {
      const e = await existence(id, signal);
      if (e === "unknown" && !signal.aborted) result.errors++;
      known.set(id, e);
    });
    result.owners = owners.length;
    result.gone = [...known.values()].filter((e) => e === "gone").length;
    result.unknown = [...known.values()].filter((e) => e === "unknown").length;

    const orphans = findOrphans(objects, known, plan).filter((v) => v.orphan);
    await eachLimited(orphans, concurrency, signal, async (v) => {
      const ref = { apiVersion: v.object.apiVersion, kind: v.object.kind, namespace: v.object.namespace, name: v.object.name };
      try {
        const deleted = await kube.delete(ref);
        if (!deleted) return; // someone (another replica, the reconcile) was first
        result.deleted.push(ref);
        deps.onDeleted?.();
        log.info({ ...ownerFields(v), kind: ref.kind, name: ref.name, reason: v.reason, trigger }, "orphan deleted: its resource no longer exists");
      } catch (err) {
        fail("delete");
        log.warn({ ...ownerFields(v), kind: ref.kind, name: ref.name, error: String(err) }, "orphan sweep: delete failed; the next sweep tries again");
      }
    });
    const seconds = (performance.now() - started) / 1000;
    if (signal.aborted) {
      log.debug({ trigger, objects: result.objects, owners: result.owners, deleted: result.deleted.length, seconds }, "orphan sweep cut short by shutdown");
      return result;
    }
    deps.onDone?.(trigger, seconds);
    const level = result.deleted.length > 0 || result.errors > 0 ? "info" : "debug";
    log[level]({ trigger, objects: result.objects, owners: result.owners, gone: result.gone, unknown: result.unknown, deleted: result.deleted.length, errors: result.errors, seconds }, "orphan sweep done");
    return result;
  };

  /** Log fields naming a resource of this adapter's kind. */
  const idFields = (id: string) => (plan.resourceKind === "nodepools" ? { nodePoolId: id } : { clusterId: id });
  const ownerFields = (v: OrphanVerdict) => (plan.resourceKind === "nodepools" ? { nodePoolId: v.ownerId, clusterId: v.clusterId } : { clusterId: v.ownerId });

  const mine = `${LABEL_ADAPTER}=${plan.name}`;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  return {
    sweep: (trigger = "interval") => run(trigger, mine, halt.signal),
    // An id no object can carry (events take any string) has nothing to sweep.
    sweepOwner: async (resourceId) => (isLabelValue(resourceId) ? run("resource-gone", `${mine},${ownerLabel}=${resourceId}`, never) : { objects: 0, owners: 0, gone: 0, unknown: 0, deleted: [], errors: 0 }),
    start(intervalMs) {
      if (intervalMs <= 0) return;
      const next = () => {
        if (stopped) return;
        timer = setTimeout(() => {
          // One at a time: a sweep that outlasts the interval delays the next instead of overlapping it.
          running = run("interval", mine, halt.signal)
            .catch((err) => log.error({ err: String(err) }, "orphan sweep failed"))
            .finally(() => {
              running = undefined;
              next();
            });
        }, intervalMs * (0.9 + Math.random() * 0.2));
      };
      next();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      halt.abort();
      await running;
    },
  };
}

function owned(o: KubeObject, apiVersion: string, kind: string): OwnedObject {
  // A real API server's list items carry no apiVersion/kind.
  return { apiVersion: o.apiVersion ?? apiVersion, kind: o.kind ?? kind, namespace: o.metadata?.namespace, name: o.metadata?.name ?? "", labels: o.metadata?.labels ?? {}, deleting: !!o.metadata?.deletionTimestamp };
}

/** Owners past which a sweep lists the resources instead of asking about each. */
export const BULK_OWNERS = 50;
const LIST_PAGE = 1000;
/** Pages a listing may take (a million resources) before the sweep gives up on it and asks about each owner. */
const MAX_LIST_PAGES = 1000;

/** Runs `fn` over `items`, at most `limit` at a time, taking no more once `signal` aborts. */
async function eachLimited<T>(items: readonly T[], limit: number, signal: AbortSignal, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal.aborted) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
