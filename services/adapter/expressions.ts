import { celEnv, celList, celMap, isCelList, isCelMap, mapType, objectType, parse, plan, CelScalar, isCelError, type CelInput } from "@bufbuild/cel";
import { create, createRegistry, toJson, type DescField, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import type { ReflectMessage } from "@bufbuild/protobuf/reflect";
import { ClusterSchema } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { NodePoolSchema } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import { AdapterStatusSchema } from "../../gen/hyperfleet/v1/status_pb.js";

type Expr = ReturnType<typeof parse>["expr"];

/** The variables an expression may use, and where (`object` only in readiness expressions). */
export interface Scope {
  objectIds: readonly string[];
  allowObject: boolean;
}

/** A compiled CEL expression: evaluate many times; never throws at evaluation. */
export interface Compiled {
  source: string;
  eval(vars: ExprVars): { value: JsonValue } | { error: string };
}

/** What expressions can see: the resource, the other adapters' statuses, live objects. */
export interface ExprVars {
  cluster: unknown;
  /** The nodepool, for nodepool adapters (an empty NodePool otherwise). */
  nodepool?: unknown;
  adapters: Record<string, unknown>;
  objects: Record<string, unknown>;
  object?: unknown;
}

const env = celEnv({
  registry: createRegistry(ClusterSchema, NodePoolSchema, AdapterStatusSchema),
  variables: {
    cluster: objectType(ClusterSchema),
    nodepool: objectType(NodePoolSchema),
    adapters: mapType(CelScalar.STRING, objectType(AdapterStatusSchema)),
    objects: mapType(CelScalar.STRING, CelScalar.DYN),
    object: CelScalar.DYN,
  },
});

/**
 * Parses and checks an expression at load time: syntax, unknown variables, unknown fields of
 * `cluster` and `adapters.<name>`, unknown `objects.<id>`. Throws an Error describing the problem.
 */
export function compile(source: string, scope: Scope): Compiled {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    throw new Error(`syntax error in ${JSON.stringify(source)}: ${(err as Error).message.replace(/^<input>:/, "")}`);
  }
  checkExpr(parsed.expr, scope, new Set());
  const run = plan(env, parsed);
  return {
    source,
    eval(vars) {
      try {
        const r = run({
          cluster: vars.cluster as never,
          nodepool: (vars.nodepool ?? EMPTY_NODEPOOL) as never,
          adapters: celMap(new Map(Object.entries(vars.adapters) as [string, CelInput][])) as never,
          objects: celMap(new Map(Object.entries(vars.objects).map(([k, x]) => [k, cachedCel(x, vars.objects)]))) as never,
          object: cachedCel(vars.object ?? null, vars.objects) as never,
        });
        if (isCelError(r)) return { error: r.message };
        return { value: fromCel(r) };
      } catch (err) {
        return { error: (err as Error).message };
      }
    },
  };
}

const EMPTY_NODEPOOL = create(NodePoolSchema);
const ROOTS: Record<string, DescMessage | "map" | "objects" | "dyn"> = { cluster: ClusterSchema, nodepool: NodePoolSchema, adapters: "map", objects: "objects", object: "dyn" };

function checkExpr(e: Expr | undefined, scope: Scope, locals: Set<string>): void {
  if (!e) return;
  const k = e.exprKind;
  switch (k.case) {
    case "identExpr":
      if (!locals.has(k.value.name) && !(k.value.name in ROOTS)) throw new Error(`unknown variable ${JSON.stringify(k.value.name)} (known: cluster, nodepool, adapters, objects${scope.allowObject ? ", object" : ""})`);
      if (k.value.name === "object" && !scope.allowObject) throw new Error("`object` is only available in readiness expressions");
      return;
    case "selectExpr": {
      const path = selectPath(e);
      if (path && !locals.has(path[0])) checkPath(path, scope);
      else checkExpr(k.value.operand, scope, locals);
      return;
    }
    case "callExpr":
      checkExpr(k.value.target, scope, locals);
      k.value.args.forEach((a) => checkExpr(a, scope, locals));
      return;
    case "listExpr":
      k.value.elements.forEach((a) => checkExpr(a, scope, locals));
      return;
    case "structExpr":
      k.value.entries.forEach((en) => {
        if (en.keyKind.case === "mapKey") checkExpr(en.keyKind.value, scope, locals);
        checkExpr(en.value, scope, locals);
      });
      return;
    case "comprehensionExpr": {
      const c = k.value;
      checkExpr(c.iterRange, scope, locals);
      const inner = new Set([...locals, c.iterVar, c.iterVar2, c.accuVar].filter(Boolean));
      [c.accuInit, c.loopCondition, c.loopStep, c.result].forEach((x) => checkExpr(x, scope, inner));
      return;
    }
    default:
      return;
  }
}

/** `a.b.c` as ["a","b","c"] when the chain is rooted at an identifier. */
function selectPath(e: Expr): string[] | undefined {
  const out: string[] = [];
  let cur: Expr | undefined = e;
  while (cur?.exprKind.case === "selectExpr") {
    out.unshift(cur.exprKind.value.field);
    cur = cur.exprKind.value.operand;
  }
  return cur?.exprKind.case === "identExpr" ? [cur.exprKind.value.name, ...out] : undefined;
}

function checkPath(path: string[], scope: Scope): void {
  const [root, ...rest] = path;
  const kind = ROOTS[root];
  if (kind === undefined) throw new Error(`unknown variable ${JSON.stringify(root)} (known: cluster, nodepool, adapters, objects)`);
  if (root === "object" && !scope.allowObject) throw new Error("`object` is only available in readiness expressions");
  if (kind === "objects") {
    if (rest.length > 0 && !scope.objectIds.includes(rest[0])) throw new Error(`unknown object ${JSON.stringify(rest[0])} in objects.${rest[0]} (declared: ${scope.objectIds.join(", ") || "none"})`);
    return;
  }
  if (kind === "dyn") return;
  let desc: DescMessage | undefined = kind === "map" ? AdapterStatusSchema : kind;
  const fields = kind === "map" ? rest.slice(1) : rest;
  let where = kind === "map" ? `adapters.${rest[0]}` : root;
  for (const f of fields) {
    if (!desc) return;
    const field: DescField | undefined = desc.fields.find((x) => x.name === f);
    if (!field) throw new Error(`unknown field ${JSON.stringify(f)} of ${where} (${desc.typeName} has: ${desc.fields.map((x) => x.name).join(", ")})`);
    where = `${where}.${f}`;
    desc = field.fieldKind === "message" && field.message.typeName.startsWith("hyperfleet.") ? field.message : undefined;
  }
}

/**
 * Each Kubernetes object converted once per reconcile, however many expressions read it: a reconcile
 * evaluates every template field, precondition and readiness expression against the same objects, and
 * converting them on each evaluation was the adapters' largest single cost in the convergence profile.
 * The conversions belong to the reconcile's `objects` record (every scope of one reconcile shares it)
 * and go with it. Kept for each object's life instead, every object in the informers' stores carried
 * a second, larger copy of itself (CEL maps and lists): most of a busy adapter's heap with 10,000
 * clusters. Objects read from Kubernetes are never modified afterwards.
 */
const converted = new WeakMap<object, Map<object, CelInput>>();
function cachedCel(v: unknown, reconcile: object): CelInput {
  if (v === null || typeof v !== "object") return toCel(v);
  let cache = converted.get(reconcile);
  if (cache === undefined) converted.set(reconcile, (cache = new Map()));
  let c = cache.get(v);
  if (c === undefined) cache.set(v, (c = toCel(v)));
  return c;
}

/** Plain JSON → CEL input: objects become maps, integral numbers CEL ints. */
export function toCel(v: unknown): CelInput {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return celList(v.map(toCel));
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : v;
  if (typeof v === "object") return celMap(new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toCel(x)])));
  return v as CelInput;
}

/** CEL output → plain JSON. */
export function fromCel(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return Number(v);
  if (isCelMap(v)) {
    return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), fromCel(x)]));
  }
  if (isCelList(v)) return [...v].map(fromCel);
  if (typeof v === "object" && v !== null && "desc" in v && "message" in v) {
    const r = v as ReflectMessage;
    return toJson(r.desc, r.message as never);
  }
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  if (typeof v === "object" && v !== null && "value" in v && typeof (v as { value: unknown }).value === "bigint") return Number((v as { value: bigint }).value);
  return v as JsonValue;
}
