import { ApiException, KubeConfig, KubernetesObjectApi, PatchStrategy, Watch, type KubernetesObject, type V1APIResource } from "@kubernetes/client-node";
import http from "node:http";
import https from "node:https";
import { withTimeout } from "../shared/broker/index.js";

/** A Kubernetes object as JSON. */
export type KubeObject = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown>; [k: string]: unknown };

/** Names one object. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** A Kubernetes API failure with its HTTP code and Status reason (0 / "Unreachable" when there was no answer). */
export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "KubeError";
  }
}

/** The adapter's view of Kubernetes: the few verbs reconcile needs, by apiVersion/kind. */
export interface KubeObjects {
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  create(obj: KubeObject): Promise<KubeObject>;
  /** JSON merge patch (RFC 7386). */
  patch(obj: KubeObject): Promise<KubeObject>;
  /** Resolves false when the object was already gone. */
  delete(ref: ObjectRef): Promise<boolean>;
  /** Matching objects, and the resourceVersion a watch continues from. */
  list(apiVersion: string, kind: string, namespace: string | undefined, labelSelector: string): Promise<KubeList>;
  /**
   * Streams changes to matching objects after `opts.resourceVersion` (from now on when omitted) until
   * `stop`, with bookmarks; `onEnd` when the server (after `opts.timeoutSeconds`) or the network ends
   * the stream (the caller decides whether to watch again).
   */
  watch(apiVersion: string, kind: string, namespace: string | undefined, labelSelector: string, onEvent: (type: WatchEventType, obj: KubeObject) => void, onEnd: (err?: unknown) => void, opts?: WatchOptions): Promise<{ stop(): void }>;
}

export interface WatchOptions {
  resourceVersion?: string;
  timeoutSeconds?: number;
}

export interface KubeList {
  items: KubeObject[];
  resourceVersion?: string;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

/** Where the cluster is: a kubeconfig file, the in-cluster service account, or a plain URL (the stand-in). */
export type KubeTarget = { kind: "kubeconfig"; path: string } | { kind: "inCluster" } | { kind: "url"; url: string };

/** Counts calls by verb and outcome (metrics). */
export type KubeCallObserver = (verb: string, code: string) => void;

/** KubeObjects on @kubernetes/client-node; every call is bounded by `timeoutMs`. */
export function createKubeObjects(target: KubeTarget, timeoutMs = 10_000, observe: KubeCallObserver = () => undefined): KubeObjects {
  const kc = new KubeConfig();
  if (target.kind === "kubeconfig") kc.loadFromFile(target.path);
  else if (target.kind === "inCluster") kc.loadFromCluster();
  // client-node refuses plain http:// unless skipTLSVerify is set (there is no TLS to verify then).
  else kc.loadFromClusterAndUser({ name: "hyperfleet", server: target.url, skipTLSVerify: target.url.startsWith("http://") }, { name: "hyperfleet" });
  reuseConnections(kc);
  const api = KubernetesObjectApi.makeApiClient(kc);

  const call = async <T>(verb: string, what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      const r = await withTimeout(fn(), timeoutMs, `kubernetes ${verb} ${what}`);
      observe(verb, "ok");
      return r;
    } catch (err) {
      const e = toKubeError(err, `${verb} ${what}`);
      observe(verb, String(e.code || e.reason));
      throw e;
    }
  };
  const header = (r: ObjectRef) => ({ apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name, namespace: r.namespace } });
  const describe = (r: ObjectRef) => `${r.kind} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`;

  return {
    async get(ref) {
      try {
        return await call("get", describe(ref), () => api.read<KubeObject>(header(ref)));
      } catch (err) {
        if (err instanceof KubeError && err.code === 404) return undefined;
        throw err;
      }
    },
    create: (obj) => call("create", describe(refOf(obj)), () => api.create<KubeObject>(obj)),
    patch: (obj) => call("patch", describe(refOf(obj)), () => api.patch<KubeObject>(obj, undefined, undefined, "hyperfleet", undefined, PatchStrategy.MergePatch)),
    async delete(ref) {
      try {
        await call("delete", describe(ref), () => api.delete(header(ref), undefined, undefined, undefined, undefined, "Background"));
        return true;
      } catch (err) {
        if (err instanceof KubeError && err.code === 404) return false;
        throw err;
      }
    },
    async list(apiVersion, kind, namespace, labelSelector) {
      const r = await call("list", `${kind} ${labelSelector}`, () => api.list<KubeObject>(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector));
      return { items: r.items, resourceVersion: r.metadata?.resourceVersion };
    },
    async watch(apiVersion, kind, namespace, labelSelector, onEvent, onEnd, opts = {}) {
      // The REST path comes from discovery, as for every other verb (client-node keeps it protected).
      const discover = (api as unknown as { resource(apiVersion: string, kind: string): Promise<V1APIResource | undefined> }).resource.bind(api);
      const resource = await call("discover", `${apiVersion} ${kind}`, () => discover(apiVersion, kind));
      if (!resource) throw new KubeError(404, "NotFound", `watch ${kind}: ${apiVersion} has no kind ${kind}`);
      const path = `${apiVersion.includes("/") ? "/apis" : "/api"}/${apiVersion}${resource.namespaced && namespace ? `/namespaces/${namespace}` : ""}/${resource.name}`;
      // `live` turns false on stop or when the start timed out: a stream that answers after its
      // timeout is aborted at once and none of its events or its end reach the caller (who has
      // already moved on to a new watch).
      let live = true;
      const end = (err?: unknown) => {
        if (live) onEnd(err);
        live = false;
      };
      const params = { labelSelector, allowWatchBookmarks: true, ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}), ...(opts.timeoutSeconds ? { timeoutSeconds: opts.timeoutSeconds } : {}) };
      const starting = new Watch(kc).watch(path, params, (type: string, obj: KubeObject) => live && onEvent(type as WatchEventType, obj), end);
      let controller: AbortController;
      try {
        controller = await withTimeout(starting, timeoutMs, `kubernetes watch ${kind}`);
      } catch (err) {
        live = false;
        starting.then((late) => late.abort(), () => undefined);
        throw err;
      }
      return {
        stop() {
          live = false;
          controller.abort();
        },
      };
    },
  };
}

/**
 * client-node 1.4 builds a new http(s).Agent without keep-alive for every request, so every call
 * opened a new TCP (against a real cluster, TLS) connection: under load, a third of an adapter's CPU
 * went to connect(). This keeps one keep-alive agent per distinct set of connection options (server,
 * CA, client certificate), so a rotated certificate still gets a fresh agent. Proxies keep the
 * library's own agents.
 */
function reuseConnections(kc: KubeConfig): void {
  type AgentFactory = (cluster: { server?: string; proxyUrl?: string } | null, options: Record<string, unknown>) => http.Agent;
  const target = kc as unknown as { createAgent: AgentFactory };
  const original = target.createAgent.bind(kc);
  const agents = new Map<string, http.Agent>();
  const KEEP = 4;
  target.createAgent = (cluster, options) => {
    if (!cluster?.server || cluster.proxyUrl) return original(cluster, options);
    // The options themselves are the key (a Map holds the string; no need to hash it on every request).
    const key = JSON.stringify([cluster.server, options.ca, options.cert, options.key, options.pfx, options.rejectUnauthorized, options.servername].map((v) => (Buffer.isBuffer(v) ? v.toString("base64") : v ?? null)));
    let agent = agents.get(key);
    if (!agent) {
      original(cluster, options); // the library's own checks (plain http only with skipTLSVerify) still apply
      // No socket cap: node-fetch 2 (under client-node) misreads a chunked response that had to wait
      // for a pooled socket as "Premature close" (node-fetch#1767).
      const opts = { ...options, keepAlive: true };
      agent = cluster.server.startsWith("http:") ? new http.Agent(opts) : new https.Agent(opts);
      agents.set(key, agent);
      // Rotated credentials leave old agents behind: keep the few newest, close the rest.
      for (const [k, old] of agents) {
        if (agents.size <= KEEP) break;
        agents.delete(k);
        old.destroy();
      }
    }
    return agent;
  };
}

/** The reference of a full object. */
export function refOf(obj: KubeObject): ObjectRef {
  return { apiVersion: obj.apiVersion ?? "", kind: obj.kind ?? "", namespace: obj.metadata?.namespace, name: obj.metadata?.name ?? "" };
}

function toKubeError(err: unknown, what: string): KubeError {
  if (err instanceof KubeError) return err;
  if (err instanceof ApiException) {
    let body: { reason?: string; message?: string } = {};
    try {
      body = typeof err.body === "string" ? JSON.parse(err.body) : (err.body as typeof body);
    } catch {
      // not a Status body
    }
    return new KubeError(err.code, body?.reason ?? "Unknown", `${what}: ${body?.message ?? `HTTP ${err.code}`}`);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new KubeError(0, "Unreachable", `${what}: ${msg}`);
}
