import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { matches, type Requirement } from "../shared/label-selector.js";
import { apiVersionOf, BUILTIN_TYPES, typesOfCrd, type ResourceType } from "./resource-types.js";
import { alreadyExists, badRequest, conflict, invalid, notFound, StatusError } from "./status-error.js";

/** A stored Kubernetes object (JSON). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generateName?: string;
    [k: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

export type WatchType = "ADDED" | "MODIFIED" | "DELETED";
export interface WatchEvent {
  type: WatchType;
  object: KubeObject;
  /** MODIFIED: the object before (the stored one itself, never changed: a write replaces it). */
  prev?: KubeObject;
  rv: number;
  typeKey: string;
}

const HISTORY = 2000;
const keyOfType = (t: Pick<ResourceType, "group" | "resource">) => `${t.group}/${t.resource}`;
const clone = <T>(v: T): T => structuredClone(v);
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The stand-in's storage, honouring what clients rely on (and what controller-runtime's fake client is
 * documented to get wrong): resourceVersion changes on every write, metadata.generation only when the
 * spec changes, 409 on duplicate create and stale updates, 404 with a Status body, status subresource,
 * Job spec.template immutability, label selectors and watch.
 */
export function createObjectStore(now: () => Date = () => new Date()) {
  const types = new Map<string, ResourceType[]>();
  const objects = new Map<string, KubeObject>();
  const history: WatchEvent[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const writeListeners = new Set<(t: ResourceType, o: KubeObject, type: WatchType) => void>();
  let rv = 1;

  const register = (t: ResourceType) => {
    const list = (types.get(keyOfType(t)) ?? []).filter((x) => x.version !== t.version);
    types.set(keyOfType(t), [...list, t]);
  };
  BUILTIN_TYPES.forEach(register);

  const objKey = (t: ResourceType, ns: string | undefined, name: string) => `${keyOfType(t)}/${t.namespaced ? ns ?? "" : ""}/${name}`;

  const emit = (type: WatchType, t: ResourceType, object: KubeObject, prev?: KubeObject) => {
    const e: WatchEvent = { type, object: clone(object), prev, rv: Number(object.metadata.resourceVersion), typeKey: keyOfType(t) };
    history.push(e);
    if (history.length > HISTORY) history.shift();
    events.emit("event", e);
    for (const l of writeListeners) l(t, object, type);
  };

  const stamp = (o: KubeObject) => {
    o.metadata.resourceVersion = String(++rv);
    return o;
  };

  /** The spec of an object for generation purposes: everything except metadata and status. */
  const specOf = (o: KubeObject, t: ResourceType) => {
    const { metadata: _m, status, apiVersion: _a, kind: _k, ...rest } = o;
    return JSON.stringify(t.statusSubresource ? rest : { ...rest, status });
  };

  const requireNamespace = (t: ResourceType, ns: string | undefined) => {
    if (!t.namespaced) return;
    if (!ns) throw badRequest("a namespace is required for namespaced resources");
    const nsType = BUILTIN_TYPES[0];
    if (!objects.has(objKey(nsType, undefined, ns))) throw new StatusError(404, "NotFound", `namespaces "${ns}" not found`, { name: ns, kind: "namespaces" });
  };

  const store = {
    /** Resolves a URL's group/version/resource (or a short name) to its type. */
    resolve(group: string, version: string, resource: string): ResourceType | undefined {
      return (types.get(`${group}/${resource}`) ?? []).find((t) => t.version === version);
    },
    /** Every served type, for discovery. */
    allTypes(): ResourceType[] {
      return [...types.values()].flat();
    },

    get(t: ResourceType, ns: string | undefined, name: string): KubeObject {
      const o = objects.get(objKey(t, ns, name));
      if (!o) throw notFound(t, name);
      return clone(o);
    },

    list(t: ResourceType, ns: string | undefined, selector: readonly Requirement[], fieldName?: string) {
      const prefix = `${keyOfType(t)}/`;
      const items = [...objects.entries()]
        .filter(([k, o]) => k.startsWith(prefix) && (!t.namespaced || !ns || o.metadata.namespace === ns) && matches(selector, o.metadata.labels) && (!fieldName || o.metadata.name === fieldName))
        .map(([, o]) => clone(o))
        .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
      return { items, resourceVersion: String(rv) };
    },

    create(t: ResourceType, ns: string | undefined, body: KubeObject): KubeObject {
      const o = clone(body);
      o.metadata ??= { name: "" };
      if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}${randomUUID().slice(0, 5)}`;
      const name = o.metadata.name;
      if (!name) throw invalid(t, "", "metadata.name", "Required value: name or generateName is required");
      if (!DNS_SUBDOMAIN.test(name) || name.length > 253) throw invalid(t, name, "metadata.name", "Invalid value: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'");
      if (t.kind === "Job" && name.length > 63) throw invalid(t, name, "metadata.name", "must be no more than 63 characters");
      if (t.namespaced && o.metadata.namespace && ns && o.metadata.namespace !== ns) {
        throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      }
      requireNamespace(t, ns);
      const key = objKey(t, ns, name);
      if (objects.has(key)) throw alreadyExists(t, name);
      let defined: ResourceType[] = [];
      if (t.kind === "CustomResourceDefinition") {
        try {
          defined = typesOfCrd(o);
        } catch (err) {
          throw invalid(t, name, "spec", (err as Error).message);
        }
      }
      o.apiVersion = apiVersionOf(t);
      o.kind = t.kind;
      o.metadata = { ...o.metadata, uid: randomUUID(), generation: 1, creationTimestamp: now().toISOString().replace(/\.\d{3}Z$/, "Z") };
      if (t.namespaced) o.metadata.namespace = ns;
      else delete o.metadata.namespace;
      if (t.statusSubresource && t.kind !== "Namespace") delete o.status;
      if (t.kind === "Namespace") o.status = { phase: "Active" };
      if (t.kind === "CustomResourceDefinition") {
        defined.forEach(register);
        o.status = {
          acceptedNames: (o.spec as { names?: unknown }).names,
          conditions: ["NamesAccepted", "Established"].map((type) => ({ type, status: "True", reason: type === "Established" ? "InitialNamesAccepted" : "NoConflicts", lastTransitionTime: o.metadata.creationTimestamp })),
        };
      }
      objects.set(key, stamp(o));
      emit("ADDED", t, o);
      return clone(o);
    },

    /** PUT: replaces the object (or only its status with `subresource: "status"`). */
    update(t: ResourceType, ns: string | undefined, name: string, body: KubeObject, subresource?: "status"): KubeObject {
      const key = objKey(t, ns, name);
      const current = objects.get(key);
      if (!current) throw notFound(t, name);
      if (body.metadata?.name && body.metadata.name !== name) throw badRequest("the name of the object does not match the name on the URL");
      const want = body.metadata?.resourceVersion;
      if (want && want !== current.metadata.resourceVersion) throw conflict(t, name);
      let next: KubeObject;
      if (subresource === "status") {
        next = { ...clone(current), status: clone(body.status) };
      } else {
        next = clone(body);
        next.apiVersion = current.apiVersion;
        next.kind = current.kind;
        next.metadata = {
          ...clone(body.metadata ?? { name }),
          name,
          namespace: current.metadata.namespace,
          uid: current.metadata.uid,
          creationTimestamp: current.metadata.creationTimestamp,
          generation: current.metadata.generation,
        };
        if (!t.namespaced) delete next.metadata.namespace;
        if (t.statusSubresource) next.status = clone(current.status);
        if (t.kind === "Job" && JSON.stringify(next.spec?.template) !== JSON.stringify(current.spec?.template)) {
          throw invalid(t, name, "spec.template", "Invalid value: field is immutable");
        }
        if (specOf(next, t) !== specOf(current, t)) next.metadata.generation = (current.metadata.generation ?? 1) + 1;
      }
      objects.set(key, stamp(next));
      emit("MODIFIED", t, next, current);
      return clone(next);
    },

    delete(t: ResourceType, ns: string | undefined, name: string): KubeObject {
      const key = objKey(t, ns, name);
      const current = objects.get(key);
      if (!current) throw notFound(t, name);
      objects.delete(key);
      // Cascades tell watchers too: every removed object gets its DELETED event.
      const cascade = (k: string, o: KubeObject, ot: ResourceType) => {
        objects.delete(k);
        emit("DELETED", ot, stamp(clone(o)));
      };
      if (t.kind === "CustomResourceDefinition") {
        for (const def of typesOfCrd(current)) {
          for (const [k, o] of [...objects.entries()]) if (k.startsWith(`${keyOfType(def)}/`)) cascade(k, o, def);
          types.delete(keyOfType(def));
        }
      }
      if (t.kind === "Namespace") {
        for (const [k, o] of [...objects.entries()]) {
          if (o.metadata.namespace !== name) continue;
          const [group, resource] = k.split("/");
          const ot = (types.get(`${group}/${resource}`) ?? [])[0];
          if (ot) cascade(k, o, ot);
          else objects.delete(k);
        }
      }
      const gone = stamp(clone(current));
      emit("DELETED", t, gone);
      return gone;
    },

    /** The latest resourceVersion (what a list or a bookmark reports). */
    resourceVersion(): string {
      return String(rv);
    },

    /** Whether every change after `rv` is still in the replay history. */
    canReplayFrom(rvFrom: number): boolean {
      return Number.isFinite(rvFrom) && (history.length < HISTORY || rvFrom >= history[0].rv - 1);
    },

    /** Calls `listener` for changes to `t` after `sinceRv` (replayed from history), then live; returns a stop function. */
    watch(t: ResourceType, sinceRv: number | undefined, listener: (e: WatchEvent) => void): () => void {
      const key = keyOfType(t);
      if (sinceRv !== undefined) for (const e of history) if (e.typeKey === key && e.rv > sinceRv) listener(e);
      const on = (e: WatchEvent) => {
        if (e.typeKey === key) listener(e);
      };
      events.on("event", on);
      return () => events.off("event", on);
    },

    /**
     * Calls `listener` after every write with the stored object itself (read it, never change it: a
     * write replaces the stored object rather than changing it, so keeping one is safe); returns a stop
     * function. For the stage runner, which must not copy.
     */
    onWrite(listener: (t: ResourceType, o: KubeObject, type: WatchType) => void): () => void {
      writeListeners.add(listener);
      return () => writeListeners.delete(listener);
    },

    /** Every stored object with its type (for the stage runner). */
    *entries(): Generator<[ResourceType, KubeObject]> {
      for (const [k, o] of objects) {
        const [group, resource] = k.split("/");
        const t = (types.get(`${group}/${resource}`) ?? []).find((x) => apiVersionOf(x) === o.apiVersion);
        if (t) yield [t, o];
      }
    },
  };
  return store;
}

export type ObjectStore = ReturnType<typeof createObjectStore>;
