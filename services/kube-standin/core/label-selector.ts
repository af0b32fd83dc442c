/** A parsed Kubernetes label selector requirement. */
export type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

export type SelectorParse = { ok: true; requirements: Requirement[] } | { ok: false; error: string };

/**
 * Parses the label selector syntax of the Kubernetes API (`a=b,c!=d,e in (x,y),f notin (z),g,!h`).
 * Commas inside parentheses belong to the set.
 */
export function parseSelector(text: string): SelectorParse {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  const requirements: Requirement[] = [];
  for (const raw of parts.map((p) => p.trim()).filter((p) => p !== "")) {
    let m: RegExpExecArray | null;
    if ((m = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(raw))) {
      requirements.push({ key: m[1], op: m[2] === "!=" ? "!=" : "=", value: m[3] });
    } else if ((m = /^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(raw))) {
      requirements.push({ key: m[1], op: m[2] as "in" | "notin", values: m[3].split(",").map((v) => v.trim()).filter((v) => v !== "") });
    } else if ((m = /^(!?)([^\s=!(),]+)$/.exec(raw))) {
      requirements.push({ key: m[2], op: m[1] ? "!exists" : "exists" });
    } else {
      return { ok: false, error: `unable to parse requirement: ${JSON.stringify(raw)}` };
    }
  }
  return { ok: true, requirements };
}

/** True when `labels` satisfy every requirement. */
export function matches(requirements: readonly Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case "=": return has && l[r.key] === r.value;
      case "!=": return !has || l[r.key] !== r.value;
      case "in": return has && r.values.includes(l[r.key]);
      case "notin": return !has || !r.values.includes(l[r.key]);
      case "exists": return has;
      case "!exists": return !has;
    }
  });
}
