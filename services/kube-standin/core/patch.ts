/** RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** One RFC 6902 operation (the subset clients send: add, remove, replace, test). */
export interface JsonPatchOp {
  op: "add" | "remove" | "replace" | "test";
  path: string;
  value?: unknown;
}

/** Applies RFC 6902 operations; throws an Error naming the failing operation. */
export function jsonPatch(target: unknown, ops: readonly JsonPatchOp[]): unknown {
  let doc = structuredClone(target);
  for (const [i, op] of ops.entries()) {
    const parts = op.path.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    if (parts.length === 0) {
      if (op.op === "test") {
        if (JSON.stringify(doc) !== JSON.stringify(op.value)) throw new Error(`operation ${i}: test failed`);
      } else doc = structuredClone(op.value);
      continue;
    }
    const last = parts.pop()!;
    let parent: unknown = doc;
    for (const p of parts) {
      parent = (parent as Record<string, unknown> | undefined)?.[p];
      if (parent === null || typeof parent !== "object") throw new Error(`operation ${i}: path ${op.path} does not exist`);
    }
    const isArray = Array.isArray(parent);
    const container = parent as Record<string, unknown>;
    const list = parent as unknown[];
    const index = isArray ? (last === "-" ? list.length : Number(last)) : -1;
    switch (op.op) {
      case "test":
        if (JSON.stringify(isArray ? list[index] : container[last]) !== JSON.stringify(op.value)) throw new Error(`operation ${i}: test failed at ${op.path}`);
        break;
      case "remove":
        if (isArray) list.splice(index, 1);
        else if (!(last in container)) throw new Error(`operation ${i}: path ${op.path} does not exist`);
        else delete container[last];
        break;
      case "add":
        if (isArray) list.splice(index, 0, structuredClone(op.value));
        else container[last] = structuredClone(op.value);
        break;
      case "replace":
        if (isArray) list[index] = structuredClone(op.value);
        else if (!(last in container)) throw new Error(`operation ${i}: path ${op.path} does not exist`);
        else container[last] = structuredClone(op.value);
        break;
      default:
        throw new Error(`operation ${i}: unsupported op ${(op as { op: string }).op}`);
    }
  }
  return doc;
}
