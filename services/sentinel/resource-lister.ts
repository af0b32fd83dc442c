import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Cluster } from "../../gen/hyperfleet/v1/cluster_pb.js";
import type { NodePool } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import { Phase, ResourceView } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import type { ApiClient } from "../shared/api-client.js";
import { isUuid } from "../shared/ids.js";
import { recycledWatch } from "../shared/recycled-watch.js";
import type { ReconcileData } from "../shared/events/index.js";
import type { ResourceSnapshot } from "./core/decide.js";
import { WatchEventType } from "../../gen/hyperfleet/v1/watch_pb.js";

/** A resource as the poll loop needs it: what to decide on and what to put in the event. */
export interface DueResource extends ResourceSnapshot {
  ref: ReconcileData;
}

/** A row of a page that could not be read as a DueResource: skipped this poll, retried the next. */
export interface UnreadableRow {
  id: string;
  error: string;
}

export interface ResourcePage {
  resources: DueResource[];
  unreadable: UnreadableRow[];
  /** The id of the page's last row, read or not: where a listing resumes after it. */
  lastId?: string;
  nextPageToken: string;
}

/**
 * Reads resources from the API page by page, filtered server-side (the Sentinel's view of the API), in
 * the STATUS view: no spec or labels, which decide() never looks at, so that no spec, however large
 * or deep, is read, sent or decoded for a poll.
 */
export interface ResourceLister {
  listPage(filter: string, pageToken: string, pageSize: number): Promise<ResourcePage>;
  get(id: string): Promise<DueResource>;
  /**
   * The API's watch of the resources matching `filter` (STATUS view, soft-deleted ones included), from
   * `resumeToken` (empty: from now). Ends or throws when the stream breaks; `signal` ends it.
   */
  watch?(filter: string, resumeToken: string, signal: AbortSignal): AsyncIterable<WatchItem>;
}

/** One message of a watch, read: a resource that changed (or could not be read), or only a new resume point. */
export interface WatchItem {
  type: WatchEventType;
  resumeToken: string;
  resource?: DueResource;
  unreadable?: UnreadableRow;
}

/** A watch message's resource, read as the poll reads a row. */
function itemOf(type: WatchEventType, resumeToken: string, row: Cluster | NodePool | undefined): WatchItem {
  if (type !== WatchEventType.CHANGED || !row) return { type, resumeToken };
  try {
    return { type, resumeToken, resource: toDue(row) };
  } catch (err) {
    return { type, resumeToken, unreadable: { id: row.id, error: err instanceof Error ? err.message : String(err) } };
  }
}

/** A watch has no deadline (the API's default one would end it after API_TIMEOUT); its heartbeats say it is alive. */
const NO_DEADLINE = 0;

/**
 * Maps a Cluster or NodePool to what the Sentinel needs; nodepool events carry their owner (spec §5).
 * Throws for a resource decide() cannot reason about (an id that is not a UUID, a generation or time
 * out of range), rather than let it compare as NaN and silently never be due.
 */
export function toDue(c: Cluster | NodePool): DueResource {
  const generation = Number(c.generation);
  const observedGeneration = Number(c.status?.observedGeneration ?? 0n);
  const lastUpdatedTime = c.status?.lastUpdatedTime ? timestampDate(c.status.lastUpdatedTime) : new Date(0);
  if (!isUuid(c.id)) throw new Error(`id ${JSON.stringify(c.id.slice(0, 64))} is not a UUID`);
  if (!Number.isSafeInteger(generation) || !Number.isSafeInteger(observedGeneration)) throw new Error(`generation ${c.generation} or observed_generation ${observedGeneration} is out of range`);
  if (Number.isNaN(lastUpdatedTime.getTime())) throw new Error("status.last_updated_time is out of range");
  const ref: ReconcileData =
    c.$typeName === "hyperfleet.v1.NodePool"
      ? { id: c.id, kind: "NodePool", href: c.href, generation, owner_references: { id: c.clusterId, kind: "Cluster", href: `/api/hyperfleet/v1/clusters/${c.clusterId}` } }
      : { id: c.id, kind: "Cluster", href: c.href, generation };
  return { generation, observedGeneration, phase: c.status?.phase === Phase.READY ? "Ready" : "NotReady", lastUpdatedTime, availableAdapters: c.status?.availableAdapters ?? 0, ref };
}

/** Reads each row on its own: one that cannot be read is set aside with its id, and the others go on. */
export function pageOf(rows: (Cluster | NodePool)[], nextPageToken: string): ResourcePage {
  const page: ResourcePage = { resources: [], unreadable: [], lastId: rows.at(-1)?.id, nextPageToken };
  for (const row of rows) {
    try {
      page.resources.push(toDue(row));
    } catch (err) {
      page.unreadable.push({ id: row.id, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return page;
}

/** Lists clusters, soft-deleted ones included: they still need events so adapters can clean up. */
export function createClusterLister(api: ApiClient): ResourceLister {
  return {
    async listPage(filter, pageToken, pageSize) {
      const res = await api.clusters.listClusters({ filter, pageToken, pageSize, showDeleted: true, view: ResourceView.STATUS });
      return pageOf(res.clusters, res.nextPageToken);
    },
    async get(id) {
      return toDue(await api.clusters.getCluster({ id, view: ResourceView.STATUS }));
    },
    async *watch(filter, resumeToken, signal) {
      const open = (token: string) => api.clusters.watchClusters({ filter, resumeToken: token, showDeleted: true, view: ResourceView.STATUS }, { signal, timeoutMs: NO_DEADLINE });
      for await (const m of recycledWatch(open, resumeToken)) yield itemOf(m.type, m.resumeToken, m.cluster);
    },
  };
}

/** Lists nodepools across clusters, soft-deleted ones included. */
export function createNodePoolLister(api: ApiClient): ResourceLister {
  return {
    async listPage(filter, pageToken, pageSize) {
      const res = await api.nodepools.listNodePools({ filter, pageToken, pageSize, showDeleted: true, view: ResourceView.STATUS });
      return pageOf(res.nodepools, res.nextPageToken);
    },
    async get(id) {
      return toDue(await api.nodepools.getNodePool({ id, view: ResourceView.STATUS }));
    },
    async *watch(filter, resumeToken, signal) {
      const open = (token: string) => api.nodepools.watchNodePools({ filter, resumeToken: token, showDeleted: true, view: ResourceView.STATUS }, { signal, timeoutMs: NO_DEADLINE });
      for await (const m of recycledWatch(open, resumeToken)) yield itemOf(m.type, m.resumeToken, m.nodepool);
    },
  };
}
