import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Cluster } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import type { NodePool } from "../../../gen/hyperfleet/v1/nodepool_pb.js";
import { ConditionStatus } from "../../../gen/hyperfleet/v1/condition_pb.js";
import { Phase } from "../../../gen/hyperfleet/v1/resource_status_pb.js";
import type { AdapterStatus } from "../../../gen/hyperfleet/v1/status_pb.js";
import { age, type Cell, type Column } from "./table.js";

/** "Ready" / "NotReady" / "Deleting". */
export function phaseCell(c: Cluster | NodePool): Cell {
  if (c.deletedTime) return { text: "Deleting", tone: "pending" };
  return c.status?.phase === Phase.READY ? { text: "Ready", tone: "good" } : { text: "NotReady", tone: "pending" };
}

export function conditionWord(s: ConditionStatus | undefined): "True" | "False" | "Unknown" | "" {
  return s === ConditionStatus.TRUE ? "True" : s === ConditionStatus.FALSE ? "False" : s === ConditionStatus.UNKNOWN ? "Unknown" : "";
}

/** `hf cluster list`: one row per cluster. */
export function clusterTable(clusters: Cluster[], now: Date): { columns: Column[]; rows: Cell[][] } {
  return {
    columns: [{ header: "ID" }, { header: "NAME" }, { header: "GEN", align: "right" }, { header: "OBSERVED", align: "right" }, { header: "PHASE" }, { header: "LABELS" }, { header: "AGE", align: "right" }],
    rows: clusters.map((c) => [
      { text: c.id },
      { text: c.name },
      { text: String(c.generation) },
      { text: String(c.status?.observedGeneration ?? 0n) },
      phaseCell(c),
      { text: Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(",") },
      { text: age(c.createdTime && timestampDate(c.createdTime), now) },
    ]),
  };
}

/** `hf status list`: one row per adapter. */
export function statusTable(statuses: AdapterStatus[], now: Date): { columns: Column[]; rows: Cell[][] } {
  const word = (s: AdapterStatus, type: string) => conditionWord(s.conditions.find((c) => c.type === type)?.status);
  const tone = (w: string): Cell["tone"] => (w === "True" ? "good" : w === "False" ? "bad" : "pending");
  return {
    columns: [{ header: "ADAPTER" }, { header: "GEN", align: "right" }, { header: "APPLIED" }, { header: "AVAILABLE" }, { header: "HEALTH" }, { header: "REASON" }, { header: "LAST REPORT", align: "right" }, { header: "DATA" }],
    rows: statuses.map((s) => {
      const available = s.conditions.find((c) => c.type === "Available");
      return [
        { text: s.adapter },
        { text: String(s.observedGeneration) },
        { text: word(s, "Applied"), tone: tone(word(s, "Applied")) },
        { text: word(s, "Available"), tone: tone(word(s, "Available")) },
        { text: word(s, "Health"), tone: tone(word(s, "Health")) },
        { text: available?.reason ?? "" },
        { text: age(s.lastReportTime && timestampDate(s.lastReportTime), now) },
        { text: s.data ? JSON.stringify(s.data) : "" },
      ];
    }),
  };
}

/**
 * `hf watch`: name, generation, phase, then one column per adapter showing Available and the generation
 * it observed (✓2 available at 2, ✗1 not available at 1, · not reported). Adapters come in the order of
 * the cluster's <Adapter>Successful conditions, i.e. the required order, then any others.
 */
export function watchTable(clusters: Cluster[], statuses: Map<string, AdapterStatus[]>, now: Date): { columns: Column[]; rows: Cell[][] } {
  const adapters: string[] = [];
  for (const c of clusters) {
    for (const s of statuses.get(c.id) ?? []) if (!adapters.includes(s.adapter)) adapters.push(s.adapter);
  }
  const order = (a: string) => {
    const i = clusters[0]?.status?.conditions.findIndex((x) => x.type.toLowerCase() === `${a.replace(/-/g, "")}successful`) ?? -1;
    return i < 0 ? 1000 : i;
  };
  adapters.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  return {
    columns: [{ header: "NAME" }, { header: "GEN", align: "right" }, { header: "PHASE" }, ...adapters.map((a) => ({ header: a.toUpperCase() })), { header: "AGE", align: "right" }],
    rows: clusters.map((c) => [
      { text: c.name },
      { text: String(c.generation) },
      phaseCell(c),
      ...adapters.map((a): Cell => {
        const s = (statuses.get(c.id) ?? []).find((x) => x.adapter === a);
        if (!s) return { text: "·", tone: "pending" };
        const w = conditionWord(s.conditions.find((x) => x.type === "Available")?.status);
        const current = s.observedGeneration === c.generation;
        return { text: `${w === "True" ? "✓" : "✗"}${s.observedGeneration}`, tone: w === "True" && current ? "good" : w === "True" ? "pending" : "bad" };
      }),
      { text: age(c.createdTime && timestampDate(c.createdTime), now) },
    ]),
  };
}

/** `hf nodepool list`: one row per nodepool. */
export function nodePoolTable(nodepools: NodePool[], now: Date): { columns: Column[]; rows: Cell[][] } {
  return {
    columns: [{ header: "ID" }, { header: "CLUSTER" }, { header: "NAME" }, { header: "GEN", align: "right" }, { header: "OBSERVED", align: "right" }, { header: "PHASE" }, { header: "AGE", align: "right" }],
    rows: nodepools.map((n) => [
      { text: n.id },
      { text: n.clusterId },
      { text: n.name },
      { text: String(n.generation) },
      { text: String(n.status?.observedGeneration ?? 0n) },
      phaseCell(n),
      { text: age(n.createdTime && timestampDate(n.createdTime), now) },
    ]),
  };
}
