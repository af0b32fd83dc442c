import type { Requirement } from "../../shared/label-selector.js";
import type { DecideConfig } from "./decide.js";

/**
 * The selector requirements the API filter can express exactly (Kubernetes semantics, `!=` and
 * `notin` matching an absent label). The filter language has no "label absent" test, so
 * `key` and `!key` cannot shard a Sentinel.
 */
export type ShardRequirement = Extract<Requirement, { op: "=" | "!=" | "in" | "notin" }>;

/** The requirements a Sentinel can shard on, or the first one it cannot (for the config error). */
export function shardRequirements(requirements: readonly Requirement[]): { ok: true; requirements: ShardRequirement[] } | { ok: false; error: string } {
  const unsupported = requirements.find((r) => r.op === "exists" || r.op === "!exists");
  if (unsupported) {
    const text = `${unsupported.op === "!exists" ? "!" : ""}${unsupported.key}`;
    return { ok: false, error: `${JSON.stringify(text)}: a Sentinel shards on =, !=, in and notin only (the API filter cannot test that a label is absent)` };
  }
  return { ok: true, requirements: requirements as ShardRequirement[] };
}

/**
 * The API filter that returns exactly the resources decide() would publish at `now` (spec §5), so a
 * poll reads only due resources and its cost follows the due count, not the fleet size.
 */
export function dueFilter(now: Date, cfg: DecideConfig, selector: readonly ShardRequirement[]): string {
  const notReadyBefore = new Date(now.getTime() - cfg.maxAgeNotReadyMs).toISOString();
  const readyBefore = new Date(now.getTime() - cfg.maxAgeReadyMs).toISOString();
  const due =
    `(generation > status.observed_generation` +
    ` or (status.phase = 'NotReady' and status.last_updated_time < '${notReadyBefore}')` +
    ` or (status.phase = 'Ready' and status.last_updated_time < '${readyBefore}'))`;
  return [due, ...selector.map(labelFilter)].join(" and ");
}

/**
 * The filter clause for one requirement. Values are written unescaped: the selector parser admits
 * no quote in a label value (isLabelValue).
 */
export function labelFilter(r: ShardRequirement): string {
  switch (r.op) {
    case "=":
    case "!=":
      return `labels.${r.key} ${r.op} '${r.value}'`;
    case "in":
      return `labels.${r.key} in (${r.values.map((v) => `'${v}'`).join(", ")})`;
    case "notin":
      return `not labels.${r.key} in (${r.values.map((v) => `'${v}'`).join(", ")})`;
  }
}
