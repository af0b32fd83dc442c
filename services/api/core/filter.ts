/**
 * The list filter language: a small expression language compiled to a parameterised SQL fragment.
 * Nothing a user types reaches SQL as text: identifiers come from a fixed field table, values are
 * bound parameters. Examples:
 *   labels.env = 'prod' and status.phase = 'NotReady'
 *   status.last_updated_time < '2026-01-01T00:00:00Z'
 *   generation > status.observed_generation
 * Every name a user types (fields, phases, derived comparisons) is looked up as an own property or
 * in a Map, never along the prototype chain (`constructor = 1` is an unknown field, not a crash).
 */

import { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, MAX_FILTER_TERMS } from "../limits.js";
import { clip } from "./domain-errors.js";

export { MAX_FILTER_LENGTH } from "../limits.js";

/** How one filterable field maps to SQL. Column names are trusted (they come from our code). */
export interface FieldDef {
  column: string;
  type: "text" | "int" | "time" | "phase";
}

/** The field table for one resource kind; `labels.<key>` is always available on `labelsColumn`. */
export interface FilterSchema {
  fields: Record<string, FieldDef>;
  labelsColumn: string;
  /**
   * Field-to-field comparisons backed by a column of their own ("generation > status.observed_generation"
   * → a stored boolean), so the planner has statistics for them.
   */
  derived?: Record<string, string>;
}

/** A parameterised SQL fragment: `?` placeholders in order of `bindings` (knex raw style). */
export interface SqlFragment {
  sql: string;
  bindings: unknown[];
}

/** A filter that does not parse or does not type-check; `position` is a 0-based offset into the text. */
export class FilterError extends Error {
  constructor(readonly description: string, readonly position: number) {
    super(`${description} at position ${position}`);
    this.name = "FilterError";
  }
}

type Token =
  | { kind: "ident"; text: string; pos: number }
  | { kind: "string"; text: string; pos: number }
  | { kind: "number"; text: string; pos: number }
  | { kind: "op"; text: string; pos: number }
  | { kind: "punct"; text: "(" | ")" | ","; pos: number }
  | { kind: "end"; text: ""; pos: number };

type Operand = { kind: "field"; name: string; pos: number } | { kind: "value"; value: string | number; pos: number };
type Op = "=" | "!=" | "<" | "<=" | ">" | ">=";

/** The parsed expression tree. */
export type FilterAst =
  | { kind: "and" | "or"; left: FilterAst; right: FilterAst }
  | { kind: "not"; expr: FilterAst }
  | { kind: "cmp"; op: Op; left: Operand; right: Operand }
  | { kind: "in"; field: Operand & { kind: "field" }; values: (Operand & { kind: "value" })[] };

const KEYWORDS = new Set(["and", "or", "not", "in"]);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let value = "";
      while (j < text.length && text[j] !== c) {
        if (text[j] === "\\" && j + 1 < text.length) j++;
        value += text[j++];
      }
      if (j >= text.length) throw new FilterError("unterminated string", i);
      tokens.push({ kind: "string", text: value, pos: i });
      i = j + 1;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(text.slice(i));
    if (num) { tokens.push({ kind: "number", text: num[0], pos: i }); i += num[0].length; continue; }
    const ident = /^[A-Za-z_][A-Za-z0-9_./-]*/.exec(text.slice(i));
    if (ident) { tokens.push({ kind: "ident", text: ident[0], pos: i }); i += ident[0].length; continue; }
    const op = /^(<=|>=|!=|<>|==|=|<|>)/.exec(text.slice(i));
    if (op) {
      const norm = op[0] === "==" ? "=" : op[0] === "<>" ? "!=" : op[0];
      tokens.push({ kind: "op", text: norm, pos: i });
      i += op[0].length;
      continue;
    }
    if (c === "(" || c === ")" || c === ",") { tokens.push({ kind: "punct", text: c, pos: i }); i++; continue; }
    throw new FilterError(`unexpected character ${JSON.stringify(c)}`, i);
  }
  tokens.push({ kind: "end", text: "", pos: text.length });
  return tokens;
}

/** Control characters (C0 and DEL): never part of a filter, and Postgres rejects NUL in a bound value. */
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The checks on the text as a whole, before it is tokenized: length, then control characters. */
function checkText(text: string): void {
  if (text.length > MAX_FILTER_LENGTH) throw new FilterError(`filter is longer than ${MAX_FILTER_LENGTH} characters`, MAX_FILTER_LENGTH);
  const control = CONTROL.exec(text);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    throw new FilterError(`control character U+${code} is not allowed`, control.index);
  }
}

/** A user's text quoted in an error message, clipped so that the message stays short. */
const quote = (v: unknown) => `'${clip(String(v), 64)}'`;

/** Parses a filter; throws FilterError naming the position of the first problem. */
export function parseFilter(text: string): FilterAst {
  checkText(text);
  const tokens = tokenize(text);
  let p = 0;
  let depth = 0;
  let terms = 0;
  const nest = <T>(pos: number, fn: () => T): T => {
    if (++depth > MAX_FILTER_DEPTH) throw new FilterError(`nesting deeper than ${MAX_FILTER_DEPTH}`, pos);
    try {
      return fn();
    } finally {
      depth--;
    }
  };
  const peek = () => tokens[p];
  const isWord = (w: string) => peek().kind === "ident" && peek().text.toLowerCase() === w;
  const expect = (kind: Token["kind"], text?: string) => {
    const t = peek();
    if (t.kind !== kind || (text !== undefined && t.text !== text)) {
      throw new FilterError(`expected ${text ? `'${text}'` : kind} but found ${describe(t)}`, t.pos);
    }
    p++;
    return t;
  };
  // Each comparison and each `in` value is a term: the SQL grows with them, so they are bounded too.
  const term = (pos: number) => {
    if (++terms > MAX_FILTER_TERMS) throw new FilterError(`more than ${MAX_FILTER_TERMS} terms (comparisons and 'in' values)`, pos);
  };
  const operand = (): Operand => {
    const t = peek();
    if (t.kind === "string") { p++; return { kind: "value", value: t.text, pos: t.pos }; }
    if (t.kind === "number") { p++; return { kind: "value", value: Number(t.text), pos: t.pos }; }
    if (t.kind === "ident" && !KEYWORDS.has(t.text.toLowerCase())) { p++; return { kind: "field", name: t.text, pos: t.pos }; }
    throw new FilterError(`expected a field or a value but found ${describe(t)}`, t.pos);
  };
  const primary = (): FilterAst => {
    if (peek().kind === "punct" && peek().text === "(") {
      const at = peek().pos;
      p++;
      const e = nest(at, or);
      expect("punct", ")");
      return e;
    }
    const left = operand();
    if (isWord("in")) {
      p++;
      if (left.kind !== "field") throw new FilterError("'in' needs a field on its left", left.pos);
      expect("punct", "(");
      const values: (Operand & { kind: "value" })[] = [];
      do {
        const v = operand();
        if (v.kind !== "value") throw new FilterError("'in' takes a list of values", v.pos);
        term(v.pos);
        values.push(v);
      } while (peek().kind === "punct" && peek().text === "," && ++p);
      expect("punct", ")");
      return { kind: "in", field: left, values };
    }
    term(left.pos);
    const op = expect("op").text as Op;
    return { kind: "cmp", op, left, right: operand() };
  };
  const not = (): FilterAst => {
    if (!isWord("not")) return primary();
    const at = peek().pos;
    p++;
    return { kind: "not", expr: nest(at, not) };
  };
  const and = (): FilterAst => {
    let e = not();
    while (isWord("and")) { p++; e = { kind: "and", left: e, right: not() }; }
    return e;
  };
  const or = (): FilterAst => {
    let e = and();
    while (isWord("or")) { p++; e = { kind: "or", left: e, right: and() }; }
    return e;
  };
  const ast = or();
  if (peek().kind !== "end") throw new FilterError(`unexpected ${describe(peek())}`, peek().pos);
  return ast;
}

function describe(t: Token): string {
  return t.kind === "end" ? "end of filter" : quote(t.text);
}

const PHASES = new Map([["Ready", "Ready"], ["NotReady", "NotReady"], ["PHASE_READY", "Ready"], ["PHASE_NOT_READY", "NotReady"]]);

/** An own property of a table, or undefined (never Object.prototype's `constructor`, `toString`, ...). */
function own<T>(table: Record<string, T> | undefined, key: string): T | undefined {
  return table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
}

type Resolved = { sql: string; bindings: unknown[]; type: FieldDef["type"] };

/** Compiles a filter against a schema; throws FilterError for unknown fields and ill-typed values. */
export function compileFilter(text: string, schema: FilterSchema): SqlFragment {
  checkText(text);
  if (text.trim() === "") return { sql: "true", bindings: [] };
  return compile(parseFilter(text), schema);
}

function compile(ast: FilterAst, schema: FilterSchema): SqlFragment {
  switch (ast.kind) {
    case "and":
    case "or": {
      const l = compile(ast.left, schema);
      const r = compile(ast.right, schema);
      return { sql: `(${l.sql} ${ast.kind} ${r.sql})`, bindings: [...l.bindings, ...r.bindings] };
    }
    case "not": {
      const e = compile(ast.expr, schema);
      return { sql: `(not ${e.sql})`, bindings: e.bindings };
    }
    case "in": {
      const label = labelKey(ast.field.name);
      if (label !== undefined) {
        // One containment test per value keeps the labels GIN index usable.
        const parts = ast.values.map((v) => ({ sql: `${schema.labelsColumn} @> ?::jsonb`, bindings: [JSON.stringify({ [label]: String(v.value) })] }));
        return { sql: `(${parts.map((x) => x.sql).join(" or ")})`, bindings: parts.flatMap((x) => x.bindings) };
      }
      const f = field(ast.field, schema);
      const values = ast.values.map((v) => value(v, f.type));
      return { sql: `${f.sql} in (${values.map(() => "?").join(", ")})`, bindings: values };
    }
    case "cmp":
      return comparison(ast, schema);
  }
}

function comparison(ast: Extract<FilterAst, { kind: "cmp" }>, schema: FilterSchema): SqlFragment {
  let { left, right, op } = ast;
  if (left.kind === "value" && right.kind === "field") {
    [left, right] = [right, left];
    op = ({ "<": ">", "<=": ">=", ">": "<", ">=": "<=" } as Record<string, Op>)[op] ?? op;
  }
  if (left.kind !== "field") throw new FilterError("a comparison needs a field on one side", left.pos);
  const label = labelKey(left.name);
  if (label !== undefined && right.kind === "value" && (op === "=" || op === "!=")) {
    const sql = `${schema.labelsColumn} @> ?::jsonb`;
    return { sql: op === "=" ? sql : `(not ${sql})`, bindings: [JSON.stringify({ [label]: String(right.value) })] };
  }
  const l = field(left, schema);
  if (right.kind === "field") {
    const flipped = ({ "<": ">", "<=": ">=", ">": "<", ">=": "<=" } as Record<string, Op>)[op] ?? op;
    const derived = own(schema.derived, `${left.name} ${op} ${right.name}`) ?? own(schema.derived, `${right.name} ${flipped} ${left.name}`);
    if (derived) return { sql: derived, bindings: [] };
    const r = field(right, schema);
    if (r.type !== l.type) throw new FilterError(`cannot compare ${clip(left.name, 64)} with ${clip(right.name, 64)}: different types`, right.pos);
    return { sql: `${l.sql} ${op === "!=" ? "<>" : op} ${r.sql}`, bindings: [...l.bindings, ...r.bindings] };
  }
  return { sql: `${l.sql} ${op === "!=" ? "<>" : op} ?`, bindings: [...l.bindings, value(right, l.type)] };
}

function labelKey(name: string): string | undefined {
  return name.startsWith("labels.") && name.length > "labels.".length ? name.slice("labels.".length) : undefined;
}

function field(f: Operand & { kind: "field" }, schema: FilterSchema): Resolved {
  const label = labelKey(f.name);
  if (label !== undefined) return { sql: `(${schema.labelsColumn} ->> ?)`, bindings: [label], type: "text" };
  const def = own(schema.fields, f.name);
  if (!def) {
    const known = [...Object.keys(schema.fields), "labels.<key>"].join(", ");
    throw new FilterError(`unknown field ${quote(f.name)} (known: ${known})`, f.pos);
  }
  return { sql: def.column, bindings: [], type: def.type };
}

function value(v: Operand & { kind: "value" }, type: FieldDef["type"]): unknown {
  switch (type) {
    case "int":
      if (typeof v.value !== "number" || !Number.isSafeInteger(v.value)) throw new FilterError(`expected an integer (at most 2^53-1) but found ${quote(v.value)}`, v.pos);
      return v.value;
    case "time": {
      const d = typeof v.value === "string" ? new Date(v.value) : undefined;
      // Years 1-9999 in UTC: Postgres has no year 0 and toISOString writes later years as +010000.
      const year = d?.getUTCFullYear() ?? NaN;
      if (!d || Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(String(v.value)) || !(year >= 1 && year <= 9999)) {
        throw new FilterError(`expected an RFC 3339 time like '2026-01-01T00:00:00Z' but found ${quote(v.value)}`, v.pos);
      }
      return d.toISOString();
    }
    case "phase": {
      const phase = PHASES.get(String(v.value));
      if (!phase) throw new FilterError(`expected a phase ('Ready' or 'NotReady') but found ${quote(v.value)}`, v.pos);
      return phase;
    }
    case "text":
      return String(v.value);
  }
}
