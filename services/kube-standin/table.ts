import type { KubeObject } from "./object-store.js";
import type { ResourceType } from "./resource-types.js";

/** Server-side printing (meta.k8s.io/v1 Table), what `kubectl get` asks for. */
export function toTable(t: ResourceType, items: KubeObject[], now: Date, resourceVersion: string) {
  const extra = columnsFor(t);
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion },
    columnDefinitions: [
      { name: "Name", type: "string", format: "name", description: "Name of the object", priority: 0 },
      ...extra.map((c) => ({ name: c.name, type: "string", format: "", description: c.name, priority: 0 })),
      { name: "Age", type: "string", format: "", description: "Time since creation", priority: 0 },
    ],
    rows: items.map((o) => ({
      cells: [o.metadata.name, ...extra.map((c) => c.value(o)), age(o.metadata.creationTimestamp, now)],
      object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata },
    })),
  };
}

function columnsFor(t: ResourceType): { name: string; value: (o: KubeObject) => string }[] {
  if (t.kind === "Job") {
    return [
      { name: "Status", value: (o) => (conditionTrue(o, "Complete") ? "Complete" : conditionTrue(o, "Failed") ? "Failed" : "Running") },
      { name: "Completions", value: (o) => `${Number(o.status?.succeeded ?? 0)}/1` },
      { name: "Generation", value: (o) => o.metadata.annotations?.["hyperfleet.io/generation"] ?? "" },
    ];
  }
  if (t.kind === "DNSRecord") {
    return [
      { name: "Domain", value: (o) => String(o.status?.domain ?? o.spec?.domain ?? "") },
      { name: "Ready", value: (o) => String(o.status?.ready === true) },
      { name: "Generation", value: (o) => o.metadata.annotations?.["hyperfleet.io/generation"] ?? "" },
    ];
  }
  if (t.kind === "Namespace") return [{ name: "Status", value: (o) => String(o.status?.phase ?? "Active") }];
  return [];
}

function conditionTrue(o: KubeObject, type: string): boolean {
  const c = o.status?.conditions;
  return Array.isArray(c) && c.some((x: { type?: string; status?: string }) => x.type === type && x.status === "True");
}

function age(ts: string | undefined, now: Date): string {
  const s = Math.max(0, Math.floor((now.getTime() - Date.parse(ts ?? "")) / 1000));
  if (Number.isNaN(s)) return "<unknown>";
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
}
