/**
 * One attack's line in the suite's table: what was sent, what came back (counts per outcome), each
 * process's peak memory and the legitimate client's p99 while it ran, and every check that failed.
 * Checks are recorded rather than thrown, so one row lists all its failures and the table is whole.
 */
import { isInternal } from "./outcome.js";

export interface AttackRow {
  id: string;
  attack: string;
  requests: number;
  /** How long the attack ran. */
  ms: number;
  codes: Map<string, number>;
  peakRssMb: Record<string, number>;
  /** Undefined for rows the p99 bound does not apply to (the value is then shown in parentheses). */
  legit?: { p99Ms: number; calls: number; failures: number; applies: boolean };
  failures: string[];
  /** Distinct notes, each with how many times it was made. */
  notes: string[];
  noteCounts: Map<string, number>;
  /** Count an outcome (and a request). */
  record(code: string): void;
  /** Record a failed check unless `ok` (once per distinct message). */
  check(ok: boolean, failure: string): void;
  note(text: string): void;
}

export function createAttackRow(id: string, attack: string): AttackRow {
  const row: AttackRow = {
    id,
    attack,
    requests: 0,
    ms: 0,
    codes: new Map(),
    peakRssMb: {},
    failures: [],
    notes: [],
    noteCounts: new Map(),
    record(code) {
      row.requests++;
      row.codes.set(code, (row.codes.get(code) ?? 0) + 1);
    },
    check(ok, failure) {
      if (!ok && !row.failures.includes(failure)) row.failures.push(failure);
    },
    note(text) {
      if (!row.noteCounts.has(text)) row.notes.push(text);
      row.noteCounts.set(text, (row.noteCounts.get(text) ?? 0) + 1);
    },
  };
  return row;
}

/** Outcomes that count as the server failing, with their counts. */
export function internalCount(row: AttackRow): number {
  return [...row.codes].filter(([code]) => isInternal(code)).reduce((n, [, c]) => n + c, 0);
}

const fmtCodes = (codes: Map<string, number>) =>
  [...codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}:${n}`).join(" ") || "-";
const fmtRss = (peaks: Record<string, number>) =>
  Object.entries(peaks).map(([name, mb]) => `${name} ${Math.round(mb)}`).join(", ") || "-";
const fmtLegit = (l: AttackRow["legit"]) => {
  if (!l || l.calls === 0) return "-";
  const text = `${Number.isNaN(l.p99Ms) ? "-" : l.p99Ms.toFixed(1)}${l.failures ? ` (${l.failures} failed)` : ""}`;
  return l.applies ? text : `(${text})`;
};

/** The table as plain text: one line per row, then each row's failures and notes. */
export function formatTable(rows: AttackRow[], header: string[]): string {
  const cells = rows.map((r) => [r.id, r.attack, String(r.requests), fmtCodes(r.codes), fmtRss(r.peakRssMb), fmtLegit(r.legit), r.ms ? (r.ms / 1000).toFixed(1) : "-", r.failures.length ? "FAIL" : "ok"]);
  const titles = ["#", "attack", "requests", "codes seen", "peak RSS MB", "legit p99 ms", "time s", "result"];
  const widths = titles.map((t, i) => Math.min(i === 3 ? 70 : 60, Math.max(t.length, ...cells.map((c) => c[i].length))));
  const line = (c: string[]) => c.map((v, i) => (v.length > widths[i] ? v : v.padEnd(widths[i]))).join(" | ");
  const out = [...header, "", line(titles), widths.map((w) => "-".repeat(w)).join("-|-"), ...cells.map(line), ""];
  for (const r of rows) {
    if (r.failures.length === 0 && r.notes.length === 0) continue;
    out.push(`${r.id}. ${r.attack}`);
    for (const f of r.failures) out.push(`   FAIL ${f}`);
    for (const n of r.notes) out.push(`   note ${n}${(r.noteCounts.get(n) ?? 1) > 1 ? ` (×${r.noteCounts.get(n)})` : ""}`);
  }
  return out.join("\n");
}
