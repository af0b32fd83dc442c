/**
 * Kubernetes label selectors (`a=b,c!=d,e in (x,y),f notin (z),g,!h`): the one parser the Sentinel
 * (LABEL_SELECTOR sharding) and the Kubernetes stand-in (?labelSelector=) share, and the matcher
 * that gives a selector its meaning. Pure.
 */

/** One requirement of a selector; a selector is their conjunction. */
export type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

export type SelectorParse = { ok: true; requirements: Requirement[] } | { ok: false; error: string };

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** A label key: an optional DNS-subdomain prefix (≤253) and "/", then a name of 1-63 characters. */
export function isLabelKey(key: string): boolean {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  return (prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix))) && name.length <= 63 && NAME.test(name);
}

/**
 * A label value: empty, or up to 63 alphanumerics, '-', '_', '.' starting and ending with an
 * alphanumeric. No quote, space or comma can pass, which is what lets the Sentinel write values
 * into its API filter unescaped.
 */
export function isLabelValue(value: string): boolean {
  return value === "" || (value.length <= 63 && NAME.test(value));
}

const TOKEN = "[^\\s=!(),]+";
const EQUALITY = new RegExp(`^(${TOKEN})\\s*(==|=|!=)\\s*([^\\s=!(),]*)$`);
const SET = new RegExp(`^(${TOKEN})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);
const EXISTS = new RegExp(`^(!?)\\s*(${TOKEN})$`);

/** Parses a selector; the empty selector has no requirements (it matches everything). */
export function parseLabelSelector(text: string): SelectorParse {
  const requirements: Requirement[] = [];
  // Empty parts (`a=b,`) are tolerated: selectors that worked before this parser was shared keep working.
  for (const raw of splitTopLevel(text).map((p) => p.trim()).filter((p) => p !== "")) {
    let m: RegExpExecArray | null;
    let r: Requirement;
    if ((m = EQUALITY.exec(raw))) r = { key: m[1], op: m[2] === "!=" ? "!=" : "=", value: m[3] };
    else if ((m = SET.exec(raw))) r = { key: m[1], op: m[2] as "in" | "notin", values: m[3].split(",").map((v) => v.trim()) };
    else if ((m = EXISTS.exec(raw))) r = { key: m[2], op: m[1] ? "!exists" : "exists" };
    else return fail(raw, "not key, !key, key=value, key!=value, key in (...) or key notin (...)");
    if (!isLabelKey(r.key)) return fail(raw, `${JSON.stringify(r.key)} is not a valid label key`);
    if ("value" in r && !isLabelValue(r.value)) return fail(raw, `${JSON.stringify(r.value)} is not a valid label value`);
    if ("values" in r) {
      // As Kubernetes: `in ()` is an error, not a requirement nothing can meet.
      if (r.values.length === 1 && r.values[0] === "") return fail(raw, "a set needs at least one value");
      const bad = r.values.find((v) => !isLabelValue(v));
      if (bad !== undefined) return fail(raw, `${JSON.stringify(bad)} is not a valid label value`);
    }
    requirements.push(r);
  }
  return { ok: true, requirements };
}

/** Splits at commas outside parentheses (a set's commas belong to the set). */
function splitTopLevel(text: string): string[] {
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
  return parts;
}

function fail(raw: string, why: string): SelectorParse {
  return { ok: false, error: `unable to parse requirement ${JSON.stringify(raw)}: ${why}` };
}

/** True when `labels` satisfy every requirement (`!=` and `notin` also match an absent label). */
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
