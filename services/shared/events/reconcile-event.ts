/**
 * Reconcile events as CloudEvents 1.0 in structured JSON mode (spec §5): produced by the Sentinel,
 * parsed by the adapters, here and nowhere else. Pure: ids and times are arguments.
 */

/** The kinds of resource an event can be about. */
export type EventResourceKind = "Cluster" | "NodePool";

/** A reference to a resource, as carried in `data` and in `owner_references`. */
export interface ResourceRef {
  id: string;
  kind: EventResourceKind;
  href: string;
}

/** `data` of a reconcile event: ids only; adapters always read state fresh. */
export interface ReconcileData extends ResourceRef {
  generation: number;
  owner_references?: ResourceRef;
}

/** A decoded reconcile event. */
export interface ReconcileEvent {
  specversion: "1.0";
  type: string;
  source: string;
  id: string;
  time: string;
  datacontenttype: "application/json";
  data: ReconcileData;
}

export const EVENT_SOURCE = "hyperfleet-sentinel";
export const CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json";

/** `com.redhat.hyperfleet.cluster.reconcile` / `...nodepool.reconcile`. */
export function eventType(kind: EventResourceKind): string {
  return `com.redhat.hyperfleet.${kind.toLowerCase()}.reconcile`;
}

/** Builds the event for one resource. */
export function newReconcileEvent(data: ReconcileData, id: string, time: Date): ReconcileEvent {
  return { specversion: "1.0", type: eventType(data.kind), source: EVENT_SOURCE, id, time: time.toISOString(), datacontenttype: "application/json", data };
}

/** The message body (structured mode: the whole event is the JSON body). */
export function encodeReconcileEvent(event: ReconcileEvent): Buffer {
  return Buffer.from(JSON.stringify(event), "utf8");
}

/** Why a message is not a reconcile event; the adapter nacks it (and it ends in the dead-letter topic). */
export type DecodeError = "NotJson" | "NotCloudEvent" | "UnknownType" | "BadData";

export type DecodeResult = { ok: true; event: ReconcileEvent } | { ok: false; error: DecodeError; detail: string };

const KINDS: EventResourceKind[] = ["Cluster", "NodePool"];

/** Parses and checks a message body; never throws. */
export function decodeReconcileEvent(body: Buffer | string): DecodeResult {
  let v: unknown;
  try {
    v = JSON.parse(body.toString());
  } catch {
    return { ok: false, error: "NotJson", detail: "body is not JSON" };
  }
  const e = v as Partial<ReconcileEvent> | null;
  if (!e || typeof e !== "object" || e.specversion !== "1.0" || typeof e.id !== "string" || typeof e.source !== "string" || typeof e.type !== "string") {
    return { ok: false, error: "NotCloudEvent", detail: "missing specversion 1.0, id, source or type" };
  }
  const d = e.data as Partial<ReconcileData> | undefined;
  const kind = KINDS.find((k) => eventType(k) === e.type);
  if (!kind) return { ok: false, error: "UnknownType", detail: `unknown event type ${JSON.stringify(e.type)}` };
  if (!d || typeof d.id !== "string" || d.id === "" || d.kind !== kind || typeof d.href !== "string" || !Number.isInteger(d.generation) || (d.generation as number) < 1) {
    return { ok: false, error: "BadData", detail: "data needs id, kind matching the type, href and generation >= 1" };
  }
  if (kind === "NodePool" && (!d.owner_references || typeof d.owner_references.id !== "string")) {
    return { ok: false, error: "BadData", detail: "a nodepool event needs owner_references" };
  }
  return { ok: true, event: e as ReconcileEvent };
}
