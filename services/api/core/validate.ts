import type { ConditionStatus } from "./condition.js";
import type { Violation } from "./domain-errors.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Length limits of resource names per kind (spec §2). */
export const NAME_LIMITS = { Cluster: { min: 3, max: 53 }, NodePool: { min: 3, max: 15 } } as const;

/** A resource name: a lowercase DNS label within the kind's length limits (spec §2). */
export function validateName(name: string, kind: keyof typeof NAME_LIMITS, field = "name"): Violation[] {
  const { min, max } = NAME_LIMITS[kind];
  if (name === "") return [{ field, description: "is required", reason: "REQUIRED" }];
  if (name.length < min || name.length > max) {
    return [{ field, description: `must be ${min}-${max} characters long (got ${name.length})`, reason: "LENGTH" }];
  }
  if (!DNS_LABEL.test(name)) {
    return [{ field, description: "must be a lowercase DNS label: a-z, 0-9 and '-', starting and ending with a letter or digit", reason: "PATTERN" }];
  }
  return [];
}

/** Kubernetes label rules: key = optional DNS-subdomain prefix (≤253) + "/" + name (≤63); value ≤63. */
export function validateLabels(labels: Record<string, string>, field = "labels"): Violation[] {
  const out: Violation[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const f = `${field}[${JSON.stringify(key)}]`;
    const slash = key.lastIndexOf("/");
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
      out.push({ field: f, description: "key prefix must be a lowercase DNS subdomain of at most 253 characters", reason: "KEY_PREFIX" });
    } else if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
      out.push({ field: f, description: "key name must be 1-63 characters: alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric", reason: "KEY" });
    } else if (value.length > 63 || (value !== "" && !LABEL_NAME.test(value))) {
      out.push({ field: f, description: "value must be at most 63 characters: alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric", reason: "VALUE" });
    }
  }
  return out;
}

/** A report as the handler decoded it; status is undefined when the enum value is not True/False/Unknown. */
export interface ReportInput {
  resourceId: string;
  adapter: string;
  observedGeneration: number;
  observedTime: Date;
  conditions: { type: string; status: ConditionStatus | undefined; reason?: string; message?: string }[];
  data?: unknown;
}

/** Postgres jsonb cannot store U+0000; a request carrying one is rejected with the field named. */
export function nulField(value: unknown, field: string): Violation[] {
  const walk = (v: unknown): boolean =>
    typeof v === "string" ? v.includes("\u0000") : Array.isArray(v) ? v.some(walk) : v !== null && typeof v === "object" ? Object.entries(v).some(([k, x]) => k.includes("\u0000") || walk(x)) : false;
  return walk(value) ? [{ field, description: "must not contain NUL (U+0000) characters", reason: "NUL" }] : [];
}

const MANDATORY = ["Applied", "Available", "Health"] as const;
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Spec §3 rule 1: a report that breaks any of these is rejected whole and nothing is stored. */
export function validateReport(r: ReportInput, now: Date): Violation[] {
  const out: Violation[] = [];
  if (r.resourceId === "") out.push({ field: "resource_id", description: "is required", reason: "REQUIRED" });
  if (r.adapter === "") out.push({ field: "adapter", description: "is required", reason: "REQUIRED" });
  else if (r.adapter.length > 63 || !DNS_LABEL.test(r.adapter)) {
    out.push({ field: "adapter", description: "must be a lowercase DNS label of at most 63 characters", reason: "PATTERN" });
  }
  if (r.observedGeneration < 1) {
    out.push({ field: "observed_generation", description: `must be at least 1 (got ${r.observedGeneration})`, reason: "RANGE" });
  }
  if (Number.isNaN(r.observedTime.getTime())) {
    out.push({ field: "observed_time", description: "is not a representable time", reason: "RANGE" });
  } else if (r.observedTime.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS) {
    out.push({ field: "observed_time", description: "must not be more than 5 minutes in the future", reason: "FUTURE" });
  }
  const seen = new Set<string>();
  r.conditions.forEach((c, i) => {
    if (c.type === "") out.push({ field: `conditions[${i}].type`, description: "is required", reason: "REQUIRED" });
    else if (seen.has(c.type)) out.push({ field: `conditions[${i}].type`, description: `duplicate condition type ${c.type}`, reason: "DUPLICATE" });
    seen.add(c.type);
    if (c.status === undefined) {
      out.push({ field: `conditions[${i}].status`, description: "must be CONDITION_STATUS_TRUE, _FALSE or _UNKNOWN", reason: "ENUM" });
    }
  });
  out.push(...nulField(r.conditions.map((c) => [c.type, c.reason, c.message]), "conditions"), ...nulField(r.data, "data"));
  for (const type of MANDATORY) {
    if (!seen.has(type)) out.push({ field: "conditions", description: `missing mandatory condition ${type}`, reason: "MISSING_CONDITION" });
  }
  return out;
}
