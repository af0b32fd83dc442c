import {
  ApiException,
  createConfiguration,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  ListWatch,
  PatchStrategy,
  ServerConfiguration,
  Watch,
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache as InformerStore,
  type RequestContext,
  type V1APIResourceList,
} from "@kubernetes/client-node";
import { AsyncLocalStorage } from "node:async_hooks";

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

/** client-node's informer: start() lists then watches; on "error" it has stopped (start() again); stop() is final. */
export type KubeInformer = Informer<KubeObject> & InformerStore<KubeObject> & Pick<ListWatch<KubeObject>, "latestResourceVersion">;

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
   * An informer (client-node's ListWatch, not started) over the matching objects: it lists, watches from
   * the listing's resourceVersion with bookmarks, lists again after 410 Gone, and watches again when the
   * server ends a stream or one is silent for 30 s (client-node's inactivity timeout: a half-open
   * connection cannot hide changes for longer).
   */
  informer(apiVersion: string, kind: string, namespace: string | undefined, labelSelector: string): Promise<KubeInformer>;
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

/** How long one connection pool serves before the next request's own (fresh credentials) replaces it. */
const POOL_MS = 5 * 60_000;

/** KubeObjects on @kubernetes/client-node's public API; every call's requests are aborted after `timeoutMs`. */
export function createKubeObjects(target: KubeTarget, timeoutMs = 10_000, observe: KubeCallObserver = () => undefined): KubeObjects {
  const kc = new KubeConfig();
  if (target.kind === "kubeconfig") kc.loadFromFile(target.path);
  else if (target.kind === "inCluster") kc.loadFromCluster();
  // client-node refuses plain http:// unless skipTLSVerify is set (there is no TLS to verify then).
  else kc.loadFromClusterAndUser({ name: "hyperfleet", server: target.url, skipTLSVerify: target.url.startsWith("http://") }, { name: "hyperfleet" });
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig names no current cluster");
  const deadline = new AsyncLocalStorage<AbortSignal>();
  const prepare = requestPreparer(() => deadline.getStore() ?? AbortSignal.timeout(timeoutMs));
  const config = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [{ pre: async (ctx) => (prepare(ctx), ctx), post: async (res) => res }],
  });
  const api = new KubernetesObjectApi(config);

  // One deadline per call, discovery included: its signal reaches the requests through the middleware.
  const call = async <T>(verb: string, what: string, fn: () => Promise<T>): Promise<T> => {
    // Not AbortSignal.timeout: its timer keeps the signal, and every request listening to it, alive for
    // the whole timeout after the call ended (~2,000 calls' worth at an adapter's pace: GC took a third
    // of its CPU). A cleared timer lets them go at once.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    const signal = abort.signal;
    try {
      const r = await deadline.run(signal, fn);
      observe(verb, "ok");
      return r;
    } catch (err) {
      // Checked first: client-node's discovery replaces an abort with a TypeError of its own.
      const e = signal.aborted ? new KubeError(0, "Unreachable", `${verb} ${what}: timed out after ${timeoutMs} ms`) : toKubeError(err, `${verb} ${what}`);
      observe(verb, String(e.code || e.reason));
      throw e;
    } finally {
      clearTimeout(timer);
    }
  };
  const header = (r: ObjectRef) => ({ apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name, namespace: r.namespace } });
  const describe = (r: ObjectRef) => `${r.kind} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`;
  const apiPath = (apiVersion: string) => `${apiVersion.includes("/") ? "/apis" : "/api"}/${apiVersion}`;
  const listed = (apiVersion: string, kind: string, namespace: string | undefined, labelSelector: string) =>
    call("list", `${kind} ${labelSelector}`, () => api.list<KubeObject>(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector));

  // Discovery for watch paths, through the same request pipeline (KubernetesObjectApi keeps its own protected).
  const discovered = new Map<string, V1APIResourceList>();
  const resourceOf = async (apiVersion: string, kind: string) => {
    const find = () => discovered.get(apiVersion)?.resources.find((r) => r.kind === kind);
    if (find()) return find();
    const ctx = config.baseServer.makeRequestContext(apiPath(apiVersion), HttpMethod.GET);
    ctx.setHeaderParam("Accept", "application/json");
    await kc.applySecurityAuthentication(ctx);
    prepare(ctx);
    const res = await config.httpApi.send(ctx).toPromise();
    const body = await res.body.text();
    if (res.httpStatusCode !== 200) throw new ApiException(res.httpStatusCode, "discovery failed", body, res.headers);
    discovered.set(apiVersion, JSON.parse(body) as V1APIResourceList);
    return find();
  };

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
      const r = await listed(apiVersion, kind, namespace, labelSelector);
      return { items: r.items, resourceVersion: r.metadata?.resourceVersion };
    },
    async informer(apiVersion, kind, namespace, labelSelector) {
      const resource = await call("discover", `${apiVersion} ${kind}`, () => resourceOf(apiVersion, kind));
      if (!resource) throw new KubeError(404, "NotFound", `discover ${kind}: ${apiVersion} has no kind ${kind}`);
      const path = `${apiPath(apiVersion)}${resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ""}/${resource.name}`;
      const list = async () => {
        const r = await listed(apiVersion, kind, namespace, labelSelector);
        // A real API server's List items carry no apiVersion/kind; pokes and reconciles read them.
        for (const o of r.items) {
          o.apiVersion ??= apiVersion;
          o.kind ??= kind;
        }
        return r;
      };
      return makeKubeInformer(kc, path, list, labelSelector);
    },
  };
}

/**
 * Per request: the call's AbortSignal, which cancels it (connection, headers and body), and a pooled
 * connection. client-node 2.0 gives every request a new undici Agent whenever any TLS option is
 * set (a CA, a client certificate, or skipTLSVerify, as for the stand-in): a new TCP (and TLS)
 * connection per call. The first request's Agent serves the next for POOL_MS, after which a request's
 * own replaces it, so rotated credentials are picked up; the replaced Agent closes its idle sockets by
 * itself (undici's keep-alive timeout).
 */
function requestPreparer(signal: () => AbortSignal): (ctx: RequestContext) => void {
  let pool: { dispatcher: NonNullable<ReturnType<RequestContext["getDispatcher"]>>; until: number } | undefined;
  return (ctx) => {
    ctx.setSignal(signal());
    const own = ctx.getDispatcher();
    if (!own) return; // no TLS options: undici's global Agent, which already keeps connections
    const now = Date.now();
    if (!pool || now > pool.until) pool = { dispatcher: own, until: now + POOL_MS };
    ctx.setDispatcher(pool.dispatcher);
  };
}

/** client-node's makeInformer, with the Watch and stop() below. */
export function makeKubeInformer(kc: KubeConfig, path: string, list: () => Promise<KubernetesListObject<KubeObject>>, labelSelector: string): KubeInformer {
  return new OwnedInformer(path, new InformerWatch(kc), list, labelSelector);
}

type WatchCallback = Parameters<Watch["watch"]>[2];
type WatchDone = Parameters<Watch["watch"]>[3];

/**
 * client-node's Watch as ListWatch should drive it (docs/decisions/performance.md, the adapters' informers):
 * - asks for bookmarks, as client-go does, so a quiet watch resumes from a recent resourceVersion rather
 *   than one the server has forgotten (410, a full list);
 * - once closed, starts nothing and reports nothing (ListWatch would still watch after stop());
 * - a re-watch that fails before its request (credentials) ends the watch with that error: ListWatch
 *   re-watches from a callback nobody awaits, so the rejection would be unhandled and end the process.
 */
class InformerWatch extends Watch {
  closed = false;

  override async watch(path: string, params: Record<string, string | number | boolean | undefined>, callback: WatchCallback, done: WatchDone): Promise<AbortController> {
    if (this.closed) return new AbortController();
    const end: WatchDone = (err) => {
      if (!this.closed) done(err);
    };
    const each: WatchCallback = (phase, obj, watchObj) => {
      if (!this.closed) callback(phase, obj, watchObj);
    };
    try {
      return await super.watch(path, { ...params, allowWatchBookmarks: true }, each, end);
    } catch (err) {
      setImmediate(end, err);
      return new AbortController();
    }
  }
}

/**
 * ListWatch whose stop() is final (and silent: client-node reports the abort it causes as an error). A
 * listing already in flight still fills the store, but no watch follows it.
 */
class OwnedInformer extends ListWatch<KubeObject> {
  constructor(
    path: string,
    private readonly guard: InformerWatch,
    list: () => Promise<KubernetesListObject<KubeObject>>,
    labelSelector: string,
  ) {
    super(path, guard, list, false, labelSelector);
  }

  override async stop(): Promise<void> {
    this.guard.closed = true;
    await super.stop();
  }
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
  // undici's "fetch failed" keeps the reason (ECONNREFUSED, ...) in its cause.
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
  const msg = err instanceof Error ? err.message : String(err);
  return new KubeError(0, "Unreachable", `${what}: ${msg}${cause}`);
}
