import { apiVersionOf, type ResourceType } from "./resource-types.js";

/** Legacy (unaggregated) discovery documents, which kubectl and client-node fall back to. */
export function coreVersions() {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1" }] };
}

export function groupList(types: ResourceType[]) {
  const groups = new Map<string, Set<string>>();
  for (const t of types) if (t.group !== "") groups.set(t.group, (groups.get(t.group) ?? new Set()).add(t.version));
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...groups.entries()].map(([name, versions]) => group(name, [...versions])),
  };
}

export function group(name: string, versions: string[]) {
  const vs = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { kind: "APIGroup", apiVersion: "v1", name, versions: vs, preferredVersion: vs[0] };
}

export function resourceList(types: ResourceType[], group: string, version: string) {
  const own = types.filter((t) => t.group === group && t.version === version);
  const verbs = ["create", "delete", "get", "list", "patch", "update", "watch"];
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionOf({ group, version }),
    resources: own.flatMap((t) => [
      { name: t.resource, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs, shortNames: t.shortNames },
      ...(t.statusSubresource ? [{ name: `${t.resource}/status`, singularName: "", namespaced: t.namespaced, kind: t.kind, verbs: ["get", "patch", "update"] }] : []),
    ]),
  };
}

export function version() {
  return { major: "1", minor: "32", gitVersion: "v1.32.0-hyperfleet-standin", platform: "linux/amd64" };
}
