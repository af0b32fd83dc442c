import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import type { JsonValue } from "@bufbuild/protobuf";
import { compile, type Compiled, type ExprVars, type Scope } from "./expressions.js";
import type { Precondition } from "./core/preconditions.js";

/** How an object follows a new resource generation (spec §6 step 4). */
export type UpdateStrategy = "newObject" | "replace" | "annotate";

/** How the object's state says Available (spec §6 step 5). */
export interface Readiness {
  preset: "job" | "custom";
  ready: Compiled;
  failed?: Compiled;
  message?: Compiled;
}

/** One Kubernetes object the adapter owns, compiled. */
export interface ObjectPlan {
  id: string;
  strategy: UpdateStrategy;
  readiness: Readiness;
  template: Template;
  apiVersion: string;
  kind: string;
}

/** An adapter configuration compiled once at startup (plan once, evaluate many). */
export interface AdapterPlan {
  name: string;
  resourceKind: "clusters" | "nodepools";
  namespace: string;
  /** Each dependency, strict or not (core/preconditions.ts); `when`, an extra expression. */
  preconditions: { adapters: Precondition[]; when?: Compiled };
  setup: Record<string, JsonValue>[];
  objects: ObjectPlan[];
  data: Record<string, Compiled>;
  source: string;
}

/** A manifest with `${cel}` holes, rendered per event. */
export interface Template {
  render(vars: ExprVars): { value: Record<string, JsonValue> } | { error: string };
}

/** A configuration problem, located by file, line and YAML path. */
export class AdapterConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid adapter configuration:\n  ${problems.join("\n  ")}`);
    this.name = "AdapterConfigError";
  }
}

const JOB_READINESS = {
  ready: "has(object.status) && has(object.status.succeeded) && object.status.succeeded >= 1",
  failed: "has(object.status) && has(object.status.conditions) && object.status.conditions.exists(c, c.type == 'Failed' && c.status == 'True')",
  message:
    "has(object.status) && has(object.status.conditions) && object.status.conditions.exists(c, c.type == 'Failed') ? object.status.conditions.filter(c, c.type == 'Failed')[0].message : ''",
};
const STRATEGIES: UpdateStrategy[] = ["newObject", "replace", "annotate"];
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Reads and compiles an adapter YAML file; throws AdapterConfigError listing every problem with its line. */
export function loadAdapterConfig(path: string): AdapterPlan {
  return parseAdapterConfig(readFileSync(path, "utf8"), basename(path));
}

/** Compiles adapter YAML text; `file` names it in errors. */
export function parseAdapterConfig(text: string, file: string): AdapterPlan {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const problems: string[] = [];
  const at = (path: (string | number)[]) => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const line = node?.range ? lines.linePos(node.range[0]).line : undefined;
    return `${file}${line ? `:${line}` : ""}: ${path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("").replace(/^\./, "")}`;
  };
  const fail = (path: (string | number)[], msg: string) => problems.push(`${at(path)}: ${msg}`);
  for (const e of doc.errors) problems.push(`${file}:${lines.linePos(e.pos[0]).line}: ${e.message.split("\n")[0]}`);
  if (problems.length) throw new AdapterConfigError(problems);

  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  const known = ["adapter", "resourceKind", "namespace", "preconditions", "setup", "objects", "data"];
  for (const k of Object.keys(raw)) if (!known.includes(k)) fail([k], `unknown key (known: ${known.join(", ")})`);
  const name = String(raw.adapter ?? "");
  if (!NAME.test(name)) fail(["adapter"], "required: a lowercase DNS label naming the adapter");
  const resourceKind = raw.resourceKind ?? "clusters";
  if (resourceKind !== "clusters" && resourceKind !== "nodepools") fail(["resourceKind"], "must be clusters or nodepools");
  const namespace = String(raw.namespace ?? "hyperfleet");
  if (!NAME.test(namespace)) fail(["namespace"], "must be a lowercase DNS label");

  const objectsRaw = Array.isArray(raw.objects) ? (raw.objects as Record<string, unknown>[]) : [];
  if (!Array.isArray(raw.objects) || objectsRaw.length === 0) fail(["objects"], "required: a list of at least one object");
  const ids = objectsRaw.map((o) => String(o?.id ?? ""));
  const scope: Scope = { objectIds: ids, allowObject: false };
  const expr = (path: (string | number)[], source: unknown, s: Scope = scope): Compiled | undefined => {
    if (typeof source !== "string" || source.trim() === "") {
      fail(path, "must be a CEL expression (a non-empty string)");
      return undefined;
    }
    try {
      return compile(source, s);
    } catch (err) {
      fail(path, (err as Error).message);
      return undefined;
    }
  };

  const pre = (raw.preconditions ?? {}) as Record<string, unknown>;
  const preAdapters = pre.adapters ?? [];
  // Each entry: a name (counts once Available, or while working on a new generation after an earlier
  // one was reconciled: the seed's 42:02), or { name, strict: true } (Available at this generation only).
  const preconditions: Precondition[] = [];
  if (!Array.isArray(preAdapters)) fail(["preconditions", "adapters"], "must be a list of adapter names or { name, strict } entries");
  else
    preAdapters.forEach((a: unknown, i) => {
      if (typeof a === "string" && NAME.test(a)) return void preconditions.push({ adapter: a, strict: false });
      const e = a as Record<string, unknown>;
      if (typeof a !== "object" || a === null || Array.isArray(a)) return fail(["preconditions", "adapters", i], "must be an adapter name or { name, strict }");
      const extra = Object.keys(e).filter((k) => k !== "name" && k !== "strict");
      if (extra.length > 0) fail(["preconditions", "adapters", i], `unknown field ${extra.map((k) => JSON.stringify(k)).join(", ")} (known: name, strict)`);
      if (typeof e.name !== "string" || !NAME.test(e.name)) fail(["preconditions", "adapters", i, "name"], "must be an adapter name");
      if (e.strict !== undefined && typeof e.strict !== "boolean") fail(["preconditions", "adapters", i, "strict"], "must be true or false");
      if (typeof e.name === "string") preconditions.push({ adapter: e.name, strict: e.strict === true });
    });
  const when = pre.when === undefined ? undefined : expr(["preconditions", "when"], pre.when);

  const objects: ObjectPlan[] = [];
  objectsRaw.forEach((o, i) => {
    const id = ids[i];
    if (!/^[a-z][a-zA-Z0-9_]*$/.test(id)) fail(["objects", i, "id"], "required: an identifier (letters, digits, _) used as objects.<id> in expressions");
    if (ids.indexOf(id) !== i) fail(["objects", i, "id"], `duplicate object id ${JSON.stringify(id)}`);
    const strategy = (o?.onNewGeneration ?? "replace") as UpdateStrategy;
    if (!STRATEGIES.includes(strategy)) fail(["objects", i, "onNewGeneration"], `must be one of ${STRATEGIES.join(", ")}`);
    const manifest = o?.manifest as Record<string, unknown> | undefined;
    if (!manifest || typeof manifest !== "object") {
      fail(["objects", i, "manifest"], "required: the Kubernetes object to create");
      return;
    }
    if (typeof manifest.apiVersion !== "string" || typeof manifest.kind !== "string") fail(["objects", i, "manifest"], "needs apiVersion and kind (plain strings)");
    const metaName = (manifest.metadata as Record<string, unknown> | undefined)?.name;
    if (typeof metaName !== "string" || metaName === "") fail(["objects", i, "manifest", "metadata", "name"], "required");
    if ((manifest.metadata as Record<string, unknown> | undefined)?.namespace !== undefined) {
      // Cleanup on deletion looks in the adapter's namespace; an object elsewhere would be left behind.
      fail(["objects", i, "manifest", "metadata", "namespace"], "not allowed: objects live in the adapter's `namespace`");
    }
    if (strategy === "newObject" && typeof metaName === "string" && !metaName.includes("generation")) {
      fail(["objects", i, "manifest", "metadata", "name"], "with onNewGeneration: newObject the name must carry the generation (e.g. ...-gen${cluster.generation})");
    }
    const template = compileTemplate(manifest, ["objects", i, "manifest"], (p, src) => expr(p, src));
    const readiness = compileReadiness(o?.readiness, ["objects", i, "readiness"], { objectIds: ids, allowObject: true }, fail, expr);
    if (readiness) objects.push({ id, strategy, readiness, template, apiVersion: String(manifest.apiVersion), kind: String(manifest.kind) });
  });

  const data: Record<string, Compiled> = {};
  for (const [k, v] of Object.entries((raw.data ?? {}) as Record<string, unknown>)) {
    const c = expr(["data", k], v);
    if (c) data[k] = c;
  }
  const setup = raw.setup ?? [];
  if (!Array.isArray(setup)) fail(["setup"], "must be a list of Kubernetes objects");

  if (problems.length) throw new AdapterConfigError(problems);
  return {
    name,
    resourceKind: resourceKind as "clusters" | "nodepools",
    namespace,
    preconditions: { adapters: preconditions, when },
    setup: setup as Record<string, JsonValue>[],
    objects,
    data,
    source: file,
  };

  function compileReadiness(
    r: unknown,
    path: (string | number)[],
    s: Scope,
    failAt: typeof fail,
    exprAt: typeof expr,
  ): Readiness | undefined {
    if (r === "job") {
      return { preset: "job", ready: compile(JOB_READINESS.ready, s), failed: compile(JOB_READINESS.failed, s), message: compile(JOB_READINESS.message, s) };
    }
    if (r && typeof r === "object" && !Array.isArray(r)) {
      const m = r as Record<string, unknown>;
      const ready = exprAt([...path, "ready"], m.ready, s);
      const failed = m.failed === undefined ? undefined : exprAt([...path, "failed"], m.failed, s);
      const message = m.message === undefined ? undefined : exprAt([...path, "message"], m.message, s);
      return ready ? { preset: "custom", ready, failed, message } : undefined;
    }
    failAt(path, "required: `job`, or {ready: <CEL>, failed?: <CEL>, message?: <CEL>} over `object`");
    return undefined;
  }
}

/** Compiles every `${...}` in a manifest; a string that is exactly one `${expr}` keeps the value's type. */
function compileTemplate(
  manifest: Record<string, unknown>,
  base: (string | number)[],
  exprAt: (path: (string | number)[], src: string) => Compiled | undefined,
): Template {
  type Node = (vars: ExprVars) => JsonValue;
  const build = (v: unknown, path: (string | number)[]): Node => {
    if (typeof v === "string" && v.includes("${")) {
      const parts = splitTemplate(v);
      const compiled = parts.map((p) => (p.expr ? exprAt(path, p.text) : undefined));
      return (vars) => {
        const values = parts.map((p, i) => {
          if (!p.expr) return p.text;
          const r = compiled[i]?.eval(vars);
          if (!r || "error" in r) throw new Error(`${path.join(".")}: ${r ? r.error : "not compiled"} in \${${p.text}}`);
          return r.value;
        });
        return parts.length === 1 && parts[0].expr ? values[0] : values.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join("");
      };
    }
    if (Array.isArray(v)) {
      const items = v.map((x, i) => build(x, [...path, i]));
      return (vars) => items.map((f) => f(vars));
    }
    if (v && typeof v === "object") {
      const entries = Object.entries(v).map(([k, x]) => [k, build(x, [...path, k])] as const);
      return (vars) => Object.fromEntries(entries.map(([k, f]) => [k, f(vars)]));
    }
    return () => v as JsonValue;
  };
  const root = build(manifest, base);
  return {
    render(vars) {
      try {
        return { value: root(vars) as Record<string, JsonValue> };
      } catch (err) {
        return { error: (err as Error).message };
      }
    },
  };
}

/** "a-${x}-b" → [{text:"a-"}, {text:"x", expr:true}, {text:"-b"}], honouring nested braces. */
export function splitTemplate(s: string): { text: string; expr: boolean }[] {
  const out: { text: string; expr: boolean }[] = [];
  let i = 0;
  while (i < s.length) {
    const start = s.indexOf("${", i);
    if (start < 0) {
      out.push({ text: s.slice(i), expr: false });
      break;
    }
    if (start > i) out.push({ text: s.slice(i, start), expr: false });
    let depth = 1;
    let j = start + 2;
    for (; j < s.length && depth > 0; j++) {
      if (s[j] === "{") depth++;
      if (s[j] === "}") depth--;
    }
    out.push({ text: s.slice(start + 2, j - 1), expr: true });
    i = j;
  }
  return out;
}

