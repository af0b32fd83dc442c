import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../shared/log.js";
import { matches, parseLabelSelector } from "../shared/label-selector.js";
import { jsonPatch, mergePatch, type JsonPatchOp } from "./core/patch.js";
import { coreVersions, group, groupList, resourceList, version } from "./discovery.js";
import type { KubeObject, ObjectStore } from "./object-store.js";
import { apiVersionOf, type ResourceType } from "./resource-types.js";
import { badRequest, StatusError } from "./status-error.js";
import { toTable } from "./table.js";

export interface StandinDeps {
  store: ObjectStore;
  log: Logger;
  now?: () => Date;
  /** How often a watch that asked for bookmarks gets one (the real API server: every minute). */
  bookmarkIntervalMs?: number;
}

export interface StandinServer {
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

interface Route {
  t: ResourceType;
  ns?: string;
  name?: string;
  subresource?: "status";
}

/**
 * The Kubernetes REST API over plain HTTP/1.1 (so bare kubectl finds it on :8080), for the kinds the
 * adapters use. JSON only; errors are Status bodies with the real codes and reasons.
 */
export function createServer(deps: StandinDeps): StandinServer {
  const { store, log } = deps;
  const now = deps.now ?? (() => new Date());
  const bookmarkIntervalMs = deps.bookmarkIntervalMs ?? 60_000;
  const watches = new Set<http.ServerResponse>();

  const send = (res: http.ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  };

  const route = (parts: string[]): Route | "discovery" | undefined => {
    // /api/v1/... or /apis/{group}/{version}/...
    let group: string;
    let ver: string;
    let rest: string[];
    if (parts[0] === "api") [group, ver, rest] = ["", parts[1], parts.slice(2)];
    else [group, ver, rest] = [parts[1], parts[2], parts.slice(3)];
    if (!ver || rest.length === 0) return "discovery";
    let ns: string | undefined;
    if (rest[0] === "namespaces" && rest.length >= 3) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const t = store.resolve(group, ver, rest[0]);
    if (!t) return undefined;
    if (rest.length > 3 || (rest.length === 3 && rest[2] !== "status")) return undefined;
    return { t, ns, name: rest[1], subresource: rest[2] === "status" ? "status" : undefined };
  };

  const discovery = (parts: string[]) => {
    const types = store.allTypes();
    if (parts.length === 1 && parts[0] === "api") return coreVersions();
    if (parts.length === 2 && parts[0] === "api") return resourceList(types, "", parts[1]);
    if (parts.length === 1 && parts[0] === "apis") return groupList(types);
    if (parts.length === 2 && parts[0] === "apis") {
      const versions = [...new Set(types.filter((t) => t.group === parts[1]).map((t) => t.version))];
      return versions.length ? group(parts[1], versions) : undefined;
    }
    if (parts.length === 3 && parts[0] === "apis") {
      const list = resourceList(types, parts[1], parts[2]);
      return list.resources.length ? list : undefined;
    }
    return undefined;
  };

  const readBody = async (req: http.IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 3 * 1024 * 1024) throw new StatusError(413, "RequestEntityTooLarge", "request entity too large");
      chunks.push(c as Buffer);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString() || "null");
    } catch {
      throw badRequest("the request body is not valid JSON (this API stand-in speaks JSON only)");
    }
  };

  const watch = (req: http.IncomingMessage, res: http.ServerResponse, r: Route, url: URL) => {
    const sel = parseLabelSelector(url.searchParams.get("labelSelector") ?? "");
    if (!sel.ok) throw badRequest(sel.error);
    const rvParam = url.searchParams.get("resourceVersion");
    if (rvParam && !/^\d+$/.test(rvParam)) throw badRequest(`invalid resourceVersion ${JSON.stringify(rvParam)}`);
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    // As the real API server: the watch is established (headers sent) before any event, so a client
    // resuming from a resourceVersion with nothing new still sees it start.
    res.flushHeaders();
    const write = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
    if (rvParam && rvParam !== "0" && !store.canReplayFrom(Number(rvParam))) {
      // As the real API server (its watch cache): history that old is gone, which a watch reports as one
      // ERROR event carrying 410 Expired, then ends; the client must list again.
      write("ERROR", new StatusError(410, "Expired", `too old resource version: ${rvParam}`).toStatus());
      return res.end();
    }
    if (!rvParam || rvParam === "0") for (const o of store.list(r.t, r.ns, sel.requirements).items) write("ADDED", o);
    const stop = store.watch(r.t, rvParam && rvParam !== "0" ? Number(rvParam) : undefined, (e) => {
      if ((r.ns && r.t.namespaced && e.object.metadata.namespace !== r.ns) || (r.name && e.object.metadata.name !== r.name)) return;
      // As the real API server: the selector applies to every event, a deletion included (to the object's
      // last state); an object that starts matching is ADDED to this watch, one that stops is DELETED
      // (its previous state, at the change's resourceVersion).
      const now = matches(sel.requirements, e.object.metadata.labels);
      const before = e.prev ? matches(sel.requirements, e.prev.metadata.labels) : now;
      if (now) write(before ? e.type : "ADDED", e.object);
      else if (before && e.prev) write("DELETED", { ...e.prev, metadata: { ...e.prev.metadata, resourceVersion: e.object.metadata.resourceVersion } });
    });
    // As the real API server with allowWatchBookmarks: a BOOKMARK (only the resourceVersion every event up
    // to which this watch has been sent) every bookmarkIntervalMs and as the watch times out, so a quiet
    // watch resumes from a recent resourceVersion.
    const bookmarks = url.searchParams.get("allowWatchBookmarks") === "true";
    const bookmark = () => write("BOOKMARK", { apiVersion: apiVersionOf(r.t), kind: r.t.kind, metadata: { resourceVersion: store.resourceVersion() } });
    const ticker = bookmarks ? setInterval(bookmark, bookmarkIntervalMs) : undefined;
    watches.add(res);
    const timeout = Number(url.searchParams.get("timeoutSeconds") ?? 1800) * 1000;
    const timer = setTimeout(() => {
      if (bookmarks) bookmark();
      res.end();
    }, timeout);
    const done = () => {
      stop();
      clearTimeout(timer);
      clearInterval(ticker);
      watches.delete(res);
    };
    req.on("close", done);
    res.on("close", done);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://standin");
    let parts: string[];
    try {
      parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    } catch {
      throw badRequest("the request path is not valid percent-encoding");
    }
    const method = req.method ?? "GET";
    if (parts.length === 0) return send(res, 200, { paths: ["/api", "/api/v1", "/apis", "/version", "/healthz"] });
    if (parts[0] === "version") return send(res, 200, version());
    if (parts[0] === "healthz" || parts[0] === "readyz" || parts[0] === "livez") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      return res.end("ok");
    }
    if (parts[0] !== "api" && parts[0] !== "apis") throw new StatusError(404, "NotFound", "the server could not find the requested resource");
    const r = route(parts);
    if (r === "discovery") {
      const doc = method === "GET" ? discovery(parts) : undefined;
      if (!doc) throw new StatusError(404, "NotFound", "the server could not find the requested resource");
      return send(res, 200, doc);
    }
    if (!r) throw new StatusError(404, "NotFound", "the server could not find the requested resource");
    const { t, ns, name, subresource } = r;
    const wantsTable = (req.headers.accept ?? "").includes("as=Table");
    switch (method) {
      case "GET": {
        if (url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1") return watch(req, res, r, url);
        if (name) {
          const o = store.get(t, ns, name);
          return send(res, 200, wantsTable ? toTable(t, [o], now(), o.metadata.resourceVersion ?? "") : o);
        }
        const sel = parseLabelSelector(url.searchParams.get("labelSelector") ?? "");
        if (!sel.ok) throw badRequest(sel.error);
        const field = /^metadata\.name==?(.+)$/.exec(url.searchParams.get("fieldSelector") ?? "")?.[1];
        const { items, resourceVersion } = store.list(t, ns, sel.requirements, field);
        if (wantsTable) return send(res, 200, toTable(t, items, now(), resourceVersion));
        return send(res, 200, { kind: `${t.kind}List`, apiVersion: items[0]?.apiVersion ?? (t.group ? `${t.group}/${t.version}` : t.version), metadata: { resourceVersion }, items });
      }
      case "POST": {
        if (name) throw new StatusError(405, "MethodNotAllowed", "POST to a named resource is not allowed");
        const body = (await readBody(req)) as KubeObject;
        if (!body || typeof body !== "object") throw badRequest("the request body must be a JSON object");
        return send(res, 201, store.create(t, ns, body));
      }
      case "PUT": {
        if (!name) throw new StatusError(405, "MethodNotAllowed", "PUT needs a resource name");
        const body = (await readBody(req)) as KubeObject;
        if (!body || typeof body !== "object") throw badRequest("the request body must be a JSON object");
        return send(res, 200, store.update(t, ns, name, body, subresource));
      }
      case "PATCH": {
        if (!name) throw new StatusError(405, "MethodNotAllowed", "PATCH needs a resource name");
        const type = (req.headers["content-type"] ?? "").split(";")[0].trim();
        const patch = await readBody(req);
        const current = store.get(t, ns, name);
        let next: unknown;
        if (type === "application/json-patch+json") {
          if (!Array.isArray(patch)) throw badRequest("a JSON patch must be an array of operations");
          try {
            next = jsonPatch(current, patch as JsonPatchOp[]);
          } catch (err) {
            throw new StatusError(422, "Invalid", `the JSON patch could not be applied: ${(err as Error).message}`);
          }
        } else if (type === "application/merge-patch+json" || type === "application/strategic-merge-patch+json") {
          if (patch === null || typeof patch !== "object" || Array.isArray(patch)) throw badRequest("a merge patch must be a JSON object");
          next = mergePatch(current, patch);
        } else {
          throw new StatusError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${type || "none"})`);
        }
        const body = next as KubeObject;
        // A patch is applied to what was read; keep its resourceVersion so a concurrent write surfaces as 409.
        body.metadata = { ...body.metadata, resourceVersion: (patch as KubeObject)?.metadata?.resourceVersion ?? current.metadata.resourceVersion };
        return send(res, 200, store.update(t, ns, name, body, subresource));
      }
      case "DELETE": {
        if (!name) throw new StatusError(405, "MethodNotAllowed", "deleting a collection is not supported by the stand-in");
        const gone = store.delete(t, ns, name);
        return send(res, 200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, group: t.group, kind: t.resource, uid: gone.metadata.uid } });
      }
      default:
        throw new StatusError(405, "MethodNotAllowed", `method ${method} is not allowed`);
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (err instanceof StatusError) {
        if (!res.headersSent) send(res, err.code, err.toStatus());
        return;
      }
      log.error({ err: String(err?.stack ?? err), url: req.url }, "request failed");
      if (!res.headersSent) send(res, 500, new StatusError(500, "InternalError", "internal error").toStatus());
    });
    res.on("finish", () => log.debug({ method: req.method, url: req.url, code: res.statusCode }, "request"));
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      });
    },
    async close() {
      for (const w of watches) w.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

