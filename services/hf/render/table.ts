/** Pure rendering of resources as aligned text tables; colour only when asked (a TTY). */

export interface Column {
  header: string;
  align?: "left" | "right";
}

export type Tone = "good" | "bad" | "pending" | "plain";

/** A cell: its text, and a tone that becomes a colour on a TTY. */
export interface Cell {
  text: string;
  tone?: Tone;
}

const COLOURS: Record<Tone, string> = { good: "\x1b[32m", bad: "\x1b[31m", pending: "\x1b[33m", plain: "" };

/** Lays out `rows` under `columns`, two spaces apart; widths ignore colour codes. */
export function renderTable(columns: Column[], rows: (Cell | string)[][], opts: { color: boolean }): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === "string" ? { text: c } : c)));
  const widths = columns.map((col, i) => Math.max(col.header.length, ...cells.map((r) => (r[i]?.text ?? "").length)));
  const pad = (text: string, i: number) => (columns[i].align === "right" ? text.padStart(widths[i]) : text.padEnd(widths[i]));
  const line = (parts: string[]) => parts.join("  ").trimEnd();
  const header = line(columns.map((c, i) => pad(c.header, i)));
  const body = cells.map((r) =>
    line(
      columns.map((_, i) => {
        const c = r[i] ?? { text: "" };
        const text = pad(c.text, i);
        return opts.color && c.tone && c.tone !== "plain" ? `${COLOURS[c.tone]}${text}\x1b[0m` : text;
      }),
    ),
  );
  return [header, ...body].join("\n");
}

/** "5s", "3m", "2h", "4d": the age column kubectl users expect. */
export function age(from: Date | undefined, now: Date): string {
  if (!from) return "";
  const s = Math.max(0, Math.floor((now.getTime() - from.getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
