/** The chaos run's printed tables (pure): faults with their recovery, then the invariants. */
import type { Check, FaultOutcome } from "./invariants.js";

const numeric = (v: string | number) => typeof v === "number" || /^-?\d+(\.\d+)?$/.test(v);

/** Rows of equal keys as aligned text columns; a column of numbers (or numeric text, or "-") is right-aligned, its header too. */
export function renderTable(rows: Record<string, string | number>[]): string {
  const cols = Object.keys(rows[0] ?? {});
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const right = cols.map((c) => rows.every((r) => numeric(r[c]) || r[c] === "-") && rows.some((r) => numeric(r[c])));
  const line = (cells: (string | number)[]) =>
    cells
      .map((v, i) => (right[i] ? String(v).padStart(widths[i]) : String(v).padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(cols), line(widths.map((w) => "-".repeat(w))), ...rows.map((r) => line(cols.map((c) => r[c])))].join("\n");
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/**
 * One row per fault: when it struck (s since the rollout started), how long the broker or Postgres was
 * down by design, and how long after the kill or the restart it had recovered, by the criterion given.
 */
export function faultTable(faults: FaultOutcome[]): string {
  return renderTable(
    faults.map((f) => ({
      fault: f.label,
      "at s": seconds(f.at),
      "down s": f.outageMs ? seconds(f.outageMs) : "-",
      "recovered s": f.recoveredMs === undefined ? `NOT RECOVERED${f.error ? ` (${f.error})` : ""}` : seconds(f.recoveredMs),
      "recovered means": f.criterion,
    })),
  );
}

export function invariantTable(checks: Check[]): string {
  return renderTable(checks.map((c) => ({ invariant: c.name, result: c.ok ? "pass" : "FAIL", detail: c.detail })));
}
