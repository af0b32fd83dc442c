import type { DecideConfig } from "./decide.js";

/** One `key=value` or `key!=value` requirement of a label selector. */
export interface LabelRequirement {
  key: string;
  op: "=" | "!=";
  value: string;
}

export type SelectorResult = { ok: true; requirements: LabelRequirement[] } | { ok: false; error: string };

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Parses a Kubernetes-style equality selector: `shard=a,env!=dev` (empty = everything). */
export function parseLabelSelector(text: string): SelectorResult {
  const requirements: LabelRequirement[] = [];
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (!m || !KEY.test(m[1]) || !VALUE.test(m[3])) {
      return { ok: false, error: `${JSON.stringify(part)} is not key=value or key!=value with Kubernetes label syntax` };
    }
    requirements.push({ key: m[1], op: m[2] === "!=" ? "!=" : "=", value: m[3] });
  }
  return { ok: true, requirements };
}

/**
 * The API filter that returns exactly the resources decide() would publish at `now` (spec §5), so a
 * poll reads only due resources and its cost follows the due count, not the fleet size.
 */
export function dueFilter(now: Date, cfg: DecideConfig, selector: readonly LabelRequirement[]): string {
  const notReadyBefore = new Date(now.getTime() - cfg.maxAgeNotReadyMs).toISOString();
  const readyBefore = new Date(now.getTime() - cfg.maxAgeReadyMs).toISOString();
  const due =
    `(generation > status.observed_generation` +
    ` or (status.phase = 'NotReady' and status.last_updated_time < '${notReadyBefore}')` +
    ` or (status.phase = 'Ready' and status.last_updated_time < '${readyBefore}'))`;
  return [due, ...selector.map(labelFilter)].join(" and ");
}

/** The filter clause for one requirement (the selector grammar admits no quotes, so none need escaping). */
export function labelFilter(r: LabelRequirement): string {
  return `labels.${r.key} ${r.op} '${r.value}'`;
}
