/**
 * The chaos run's invariants, as pure functions over what the run observed: each returns a row of the
 * table (name, pass/fail, a detail naming the first offenders). No I/O here; scenario.ts gathers the
 * observations.
 */

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** At most `n` offenders named in a detail, then how many more. */
export function firstFew(items: string[], n = 5): string {
  return items.length <= n ? items.join("; ") : `${items.slice(0, n).join("; ")}; and ${items.length - n} more`;
}

/** A cluster as the API shows it at the end (undefined in the map when it is gone). */
export interface ClusterView {
  id: string;
  name: string;
  generation: number;
  observedGeneration: number;
  phase: string;
  deleting: boolean;
  /** The spec as JSON, for comparing with the last one sent. */
  spec: string;
}

/** A cluster the harness created, and what it last asked of it. */
export interface Expected {
  id: string;
  name: string;
  /** The last spec an update (or the create) was acknowledged with, as JSON. */
  spec: string;
  /** A delete was acknowledged. */
  deleted: boolean;
}

/** Every cluster not deleted is there, Ready, with observed_generation == generation. */
export function checkLiveReady(expected: Expected[], actual: Map<string, ClusterView>): Check {
  const live = expected.filter((e) => !e.deleted);
  const bad: string[] = [];
  for (const e of live) {
    const c = actual.get(e.id);
    if (!c) bad.push(`${e.name} missing`);
    else if (c.phase !== "Ready" || c.observedGeneration !== c.generation) bad.push(`${e.name} ${c.phase} observed ${c.observedGeneration} of generation ${c.generation}`);
  }
  return { name: "every live cluster Ready at its current generation", ok: bad.length === 0, detail: bad.length ? `${bad.length} of ${live.length}: ${firstFew(bad)}` : `${live.length} clusters` };
}

/** Every cluster whose delete was acknowledged went through its adapters' finalization and is gone. */
export function checkDeletedGone(expected: Expected[], actual: Map<string, ClusterView>): Check {
  const deleted = expected.filter((e) => e.deleted);
  const bad = deleted.filter((e) => actual.has(e.id)).map((e) => `${e.name} still there (${actual.get(e.id)!.phase}, generation ${actual.get(e.id)!.generation})`);
  return { name: "every deleted cluster finalized and removed", ok: bad.length === 0, detail: bad.length ? `${bad.length} of ${deleted.length}: ${firstFew(bad)}` : `${deleted.length} clusters` };
}

/** Every acknowledged create and update is in effect: the cluster exists with the last spec it was given. */
export function checkWritesInEffect(expected: Expected[], actual: Map<string, ClusterView>): Check {
  const live = expected.filter((e) => !e.deleted);
  const bad: string[] = [];
  for (const e of live) {
    const c = actual.get(e.id);
    if (c && c.spec !== e.spec) bad.push(`${e.name} has spec ${c.spec}, last acknowledged ${e.spec}`);
    if (c?.deleting) bad.push(`${e.name} is being deleted, which was never asked`);
  }
  return { name: "every acknowledged create and update in effect", ok: bad.length === 0, detail: bad.length ? firstFew(bad) : `${expected.length} creates, specs as last updated` };
}

/** A Kubernetes object the adapters made, as the stand-in showed it. */
export interface KubeObjectSeen {
  kind: string;
  name: string;
  uid: string;
  clusterId?: string;
  adapter?: string;
  /** Its hyperfleet.io/generation annotation. */
  generation?: number;
}

/**
 * Exactly one validation Job per cluster per generation: at the end each live cluster has one Job
 * for its current generation, and over the whole run no (cluster, generation) ever had two Jobs
 * (two uids: one created again after it was gone, or under two names).
 */
export function checkValidationJobs(seen: KubeObjectSeen[], final: KubeObjectSeen[], live: Map<string, { name: string; generation: number }>): Check {
  const isValidation = (o: KubeObjectSeen) => o.kind === "Job" && o.adapter === "validation";
  const bad: string[] = [];
  const uids = new Map<string, Set<string>>();
  for (const o of seen.filter(isValidation)) {
    const key = `${o.clusterId}/gen${o.generation}`;
    uids.set(key, (uids.get(key) ?? new Set()).add(o.uid));
  }
  for (const [key, set] of uids) if (set.size > 1) bad.push(`${key}: ${set.size} Jobs created over the run`);
  for (const [id, c] of live) {
    const current = final.filter((o) => isValidation(o) && o.clusterId === id && o.generation === c.generation);
    if (current.length !== 1) bad.push(`${c.name}: ${current.length} Jobs for generation ${c.generation}`);
  }
  return { name: "exactly one validation Job per cluster per generation", ok: bad.length === 0, detail: bad.length ? firstFew(bad) : `${uids.size} (cluster, generation) pairs, ${live.size} live clusters` };
}

/** No object whose cluster no longer exists. */
export function checkOrphans(final: KubeObjectSeen[], liveIds: Set<string>): Check {
  const orphans = final.filter((o) => o.clusterId !== undefined && !liveIds.has(o.clusterId)).map((o) => `${o.kind}/${o.name}`);
  return { name: "no orphaned Kubernetes object", ok: orphans.length === 0, detail: orphans.length ? `${orphans.length}: ${firstFew(orphans)}` : `${final.length} objects, all of live clusters` };
}

/** One adapter's row as sampled: (resource, adapter), generation and last report time. */
export interface RowSample {
  resourceId: string;
  adapter: string;
  generation: number;
  /** last_report_time in ms since the epoch. */
  reportTime: number;
}

/**
 * Watches the adapter rows sample after sample: a row's observed generation and its last report time
 * never decrease. A row that disappears (its cluster was removed) is not a step back.
 */
export function createRowTracker() {
  const last = new Map<string, { generation: number; reportTime: number; at: number }>();
  const violations: string[] = [];
  let samples = 0;
  return {
    observe(rows: RowSample[], at: number): void {
      samples++;
      for (const r of rows) {
        const key = `${r.resourceId}/${r.adapter}`;
        const before = last.get(key);
        if (before && r.generation < before.generation) violations.push(`${key} generation ${before.generation} → ${r.generation} (sampled at ${before.at} then ${at} ms)`);
        else if (before && r.reportTime < before.reportTime) violations.push(`${key} last report ${new Date(before.reportTime).toISOString()} → ${new Date(r.reportTime).toISOString()} (sampled at ${before.at} then ${at} ms)`);
        if (!before || r.generation > before.generation || (r.generation === before.generation && r.reportTime > before.reportTime)) last.set(key, { generation: r.generation, reportTime: r.reportTime, at });
      }
    },
    check(): Check {
      return {
        name: "no adapter row moved backwards",
        ok: violations.length === 0 && samples > 0,
        detail: violations.length ? `${violations.length}: ${firstFew(violations, 3)}` : samples === 0 ? "never sampled" : `${samples} samples of up to ${last.size} rows`,
      };
    },
  };
}

/** A report the API answered stored: true, with the row it said it stored. */
export interface AckedReport {
  resourceId: string;
  generation: number;
  reportTime: number;
}

/**
 * Every report answered stored is still there at the end: the final row of its (resource, adapter) is
 * at least as new. `recreated` names rows the API answered `Created` after it had already acknowledged
 * one for them (the acknowledged row had vanished in between).
 */
export function checkAcked(acked: AckedReport[], final: Map<string, { generation: number; reportTime: number }>, recreated: string[]): Check {
  const bad: string[] = [...recreated.map((r) => `${r}: acknowledged, then Created again`)];
  for (const a of acked) {
    const row = final.get(a.resourceId);
    if (!row) bad.push(`${a.resourceId}: no row (acknowledged generation ${a.generation} at ${new Date(a.reportTime).toISOString()})`);
    else if (row.generation < a.generation || (row.generation === a.generation && row.reportTime < a.reportTime))
      bad.push(`${a.resourceId}: row at generation ${row.generation} ${new Date(row.reportTime).toISOString()}, older than acknowledged ${a.generation} ${new Date(a.reportTime).toISOString()}`);
  }
  const unique = [...new Set(bad)];
  return { name: "no acknowledged report lost", ok: unique.length === 0 && acked.length > 0, detail: unique.length ? `${unique.length}: ${firstFew(unique, 3)}` : acked.length === 0 ? "no report was acknowledged" : `${acked.length} acknowledged reports over ${final.size} clusters` };
}

/** Every process's peak resident memory under the budget. */
export function checkBudget(peaks: Record<string, number>, budgetMb: number): Check {
  const entries = Object.entries(peaks).sort((a, b) => b[1] - a[1]);
  const over = entries.filter(([, mb]) => mb >= budgetMb).map(([name, mb]) => `${name} ${mb} MB`);
  const top = entries.slice(0, 3).map(([name, mb]) => `${name} ${mb}`).join(", ");
  return { name: `no process above its budget (peak RSS < ${budgetMb} MB)`, ok: over.length === 0 && entries.length > 0, detail: over.length ? `over: ${over.join(", ")}` : entries.length ? `highest: ${top} MB` : "no process sampled" };
}

/** One fault as it happened. */
export interface FaultOutcome {
  label: string;
  /** When it struck, ms since the run started. */
  at: number;
  /** How long the thing was down by design (a broker or Postgres outage), ms; 0 for a kill. */
  outageMs: number;
  /** Ms from the end of the outage (the kill, the restart) until recovered; undefined if it never did. */
  recoveredMs?: number;
  /** What recovered means for this fault. */
  criterion: string;
  error?: string;
}

/** Every fault recovered within the bound. */
export function checkRecovered(faults: FaultOutcome[], boundMs: number): Check {
  const bad = faults.filter((f) => f.recoveredMs === undefined || f.recoveredMs > boundMs).map((f) => `${f.label}: ${f.error ?? (f.recoveredMs === undefined ? "not recovered" : `${(f.recoveredMs / 1000).toFixed(1)} s`)}`);
  return { name: `every fault recovered within ${boundMs / 1000} s`, ok: bad.length === 0, detail: bad.length ? firstFew(bad) : `${faults.length} faults` };
}
