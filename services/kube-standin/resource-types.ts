/** One kind of object the stand-in serves, as API discovery describes it. */
export interface ResourceType {
  group: string;
  version: string;
  /** Plural, lowercase: "jobs". */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  /** With a status subresource, writes to the object ignore status and /status writes touch only status. */
  statusSubresource: boolean;
}

/** apiVersion as objects carry it: "batch/v1", or "v1" for the core group. */
export function apiVersionOf(t: Pick<ResourceType, "group" | "version">): string {
  return t.group === "" ? t.version : `${t.group}/${t.version}`;
}

/** The built-in kinds the adapters need: namespaces, Jobs and CRDs. */
export const BUILTIN_TYPES: ResourceType[] = [
  { group: "", version: "v1", resource: "namespaces", singular: "namespace", kind: "Namespace", namespaced: false, shortNames: ["ns"], statusSubresource: true },
  { group: "batch", version: "v1", resource: "jobs", singular: "job", kind: "Job", namespaced: true, shortNames: [], statusSubresource: true },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    resource: "customresourcedefinitions",
    singular: "customresourcedefinition",
    kind: "CustomResourceDefinition",
    namespaced: false,
    shortNames: ["crd", "crds"],
    statusSubresource: true,
  },
];

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: { plural?: string; singular?: string; kind?: string; shortNames?: string[] };
  versions?: { name?: string; served?: boolean; subresources?: { status?: unknown } }[];
}

/** The types a CustomResourceDefinition defines (one per served version); throws a message on a malformed CRD. */
export function typesOfCrd(crd: { metadata?: { name?: string }; spec?: CrdSpec }): ResourceType[] {
  const s = crd.spec ?? {};
  const plural = s.names?.plural;
  const kind = s.names?.kind;
  if (!s.group || !plural || !kind || !s.versions?.length) throw new Error("spec.group, spec.names.plural, spec.names.kind and spec.versions are required");
  if (crd.metadata?.name !== `${plural}.${s.group}`) throw new Error(`metadata.name must be spec.names.plural+"."+spec.group (${plural}.${s.group})`);
  return s.versions
    .filter((v) => v.served !== false && v.name)
    .map((v) => ({
      group: s.group!,
      version: v.name!,
      resource: plural,
      singular: s.names?.singular ?? kind.toLowerCase(),
      kind,
      namespaced: s.scope !== "Cluster",
      shortNames: s.names?.shortNames ?? [],
      statusSubresource: v.subresources?.status !== undefined,
    }));
}
