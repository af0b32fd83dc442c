import type { ConditionStatus } from "./condition.js";
import { clip, type Violation } from "./domain-errors.js";
import {
  MAX_ADAPTER_NAME_LENGTH,
  MAX_CLOCK_SKEW_MS,
  MAX_CONDITION_MESSAGE_LENGTH,
  MAX_CONDITION_REASON_LENGTH,
  MAX_CONDITION_TYPE_LENGTH,
  MAX_CONDITIONS,
  MAX_JSON_BYTES,
  MAX_JSON_DEPTH,
  MAX_LABEL_KEY_PREFIX_LENGTH,
  MAX_LABEL_NAME_LENGTH,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LABELS,
  MIN_OBSERVED_TIME_MS,
  NAME_LIMITS,
} from "../limits.js";

export { NAME_LIMITS } from "../limits.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** The longest valid label key; longer keys are quoted in field names only this far. */
const MAX_LABEL_KEY_LENGTH = MAX_LABEL_KEY_PREFIX_LENGTH + 1 + MAX_LABEL_NAME_LENGTH;

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

/**
 * Kubernetes label rules: key = optional DNS-subdomain prefix (≤253) + "/" + name (≤63); value ≤63.
 * The count is checked first: past MAX_LABELS no key is looked at (one violation, not one per key).
 */
export function validateLabels(labels: Record<string, string>, field = "labels"): Violation[] {
  const keys = Object.keys(labels);
  if (keys.length > MAX_LABELS) return [{ field, description: `must have at most ${MAX_LABELS} entries (got ${keys.length})`, reason: "TOO_MANY" }];
  const out: Violation[] = [];
  for (const key of keys) {
    const value = labels[key];
    const f = `${field}[${JSON.stringify(clip(key, MAX_LABEL_KEY_LENGTH + 1))}]`;
    const slash = key.lastIndexOf("/");
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    // Lengths before patterns: a regular expression never sees more than a valid key's worth.
    if (prefix !== undefined && (prefix.length > MAX_LABEL_KEY_PREFIX_LENGTH || !DNS_SUBDOMAIN.test(prefix))) {
      out.push({ field: f, description: `key prefix must be a lowercase DNS subdomain of at most ${MAX_LABEL_KEY_PREFIX_LENGTH} characters`, reason: "KEY_PREFIX" });
    } else if (name.length === 0 || name.length > MAX_LABEL_NAME_LENGTH || !LABEL_NAME.test(name)) {
      out.push({ field: f, description: `key name must be 1-${MAX_LABEL_NAME_LENGTH} characters: alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`, reason: "KEY" });
    } else if (value.length > MAX_LABEL_VALUE_LENGTH || (value !== "" && !LABEL_NAME.test(value))) {
      out.push({ field: f, description: `value must be at most ${MAX_LABEL_VALUE_LENGTH} characters: alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`, reason: "VALUE" });
    }
  }
  return out;
}

/** UTF-8 bytes of a string as compact JSON writes it (quotes and escapes included). */
function jsonStringBytes(s: string): number {
  // Past the limit already: no need to encode it to know.
  return s.length > MAX_JSON_BYTES ? s.length + 2 : Buffer.byteLength(JSON.stringify(s));
}

/**
 * Free JSON (`spec`, a report's `data`): at most MAX_JSON_BYTES as compact JSON, at most
 * MAX_JSON_DEPTH levels of objects/arrays, finite numbers, no NUL (Postgres jsonb cannot store U+0000).
 * Walked with an explicit stack, stopping at the first problem or once past the size: a hostile depth
 * cannot blow the stack, and a hostile size costs no more than MAX_JSON_BYTES of work. One violation at most.
 */
export function validateJson(value: unknown, field: string): Violation[] {
  if (value === undefined) return [];
  const tooLarge = (): Violation[] => [{ field, description: `must be at most ${MAX_JSON_BYTES} bytes as JSON`, reason: "TOO_LARGE" }];
  const nul = (): Violation[] => [{ field, description: "must not contain NUL (U+0000) characters", reason: "NUL" }];
  let bytes = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === "string") {
      if (v.includes("\u0000")) return nul();
      bytes += jsonStringBytes(v);
    } else if (typeof v === "number") {
      // JSON has no NaN or Infinity (binary protobuf does): JSON clients could not read it back.
      if (!Number.isFinite(v)) return [{ field, description: "numbers must be finite", reason: "NOT_FINITE" }];
      bytes += String(v).length;
    } else if (typeof v === "boolean") {
      bytes += v ? 4 : 5;
    } else if (v === null) {
      bytes += 4;
    } else if (typeof v === "object") {
      if (depth > MAX_JSON_DEPTH) return [{ field, description: `must be nested at most ${MAX_JSON_DEPTH} levels deep`, reason: "TOO_DEEP" }];
      // Brackets and separators: "[" then "," or "]" after each item ("[]" when empty); objects add '"key":'.
      bytes += 1;
      if (Array.isArray(v)) {
        if (v.length === 0) bytes += 1;
        for (const item of v) {
          stack.push([item, depth + 1]);
          if (++bytes > MAX_JSON_BYTES) return tooLarge();
        }
      } else {
        const keys = Object.keys(v);
        if (keys.length === 0) bytes += 1;
        for (const key of keys) {
          if (key.includes("\u0000")) return nul();
          stack.push([(v as Record<string, unknown>)[key], depth + 1]);
          if ((bytes += jsonStringBytes(key) + 2) > MAX_JSON_BYTES) return tooLarge();
        }
      }
    }
    if (bytes > MAX_JSON_BYTES) return tooLarge();
  }
  return [];
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

/** A condition's string field: bounded, no NUL (stored in jsonb). */
function conditionText(value: string | undefined, max: number, field: string): Violation[] {
  if (value === undefined) return [];
  if (value.length > max) return [{ field, description: `must be at most ${max} characters (got ${value.length})`, reason: "TOO_LONG" }];
  if (value.includes("\u0000")) return [{ field, description: "must not contain NUL (U+0000) characters", reason: "NUL" }];
  return [];
}

const MANDATORY = ["Applied", "Available", "Health"] as const;

/** Spec §3 rule 1: a report that breaks any of these is rejected whole and nothing is stored. */
export function validateReport(r: ReportInput, now: Date): Violation[] {
  const out: Violation[] = [];
  if (r.resourceId === "") out.push({ field: "resource_id", description: "is required", reason: "REQUIRED" });
  if (r.adapter === "") out.push({ field: "adapter", description: "is required", reason: "REQUIRED" });
  else if (r.adapter.length > MAX_ADAPTER_NAME_LENGTH || !DNS_LABEL.test(r.adapter)) {
    out.push({ field: "adapter", description: `must be a lowercase DNS label of at most ${MAX_ADAPTER_NAME_LENGTH} characters`, reason: "PATTERN" });
  }
  if (r.observedGeneration < 1 || !Number.isSafeInteger(r.observedGeneration)) {
    out.push({ field: "observed_generation", description: `must be an integer from 1 to 2^53-1 (got ${r.observedGeneration})`, reason: "RANGE" });
  }
  const t = r.observedTime.getTime();
  if (Number.isNaN(t) || t < MIN_OBSERVED_TIME_MS) {
    out.push({ field: "observed_time", description: "must be a time from 1970-01-01T00:00:00Z on", reason: "RANGE" });
  } else if (t > now.getTime() + MAX_CLOCK_SKEW_MS) {
    out.push({ field: "observed_time", description: `must not be more than ${MAX_CLOCK_SKEW_MS / 60_000} minutes in the future`, reason: "FUTURE" });
  }
  out.push(...validateJson(r.data, "data"));
  // The count before the items: past MAX_CONDITIONS none is looked at.
  if (r.conditions.length > MAX_CONDITIONS) {
    out.push({ field: "conditions", description: `must have at most ${MAX_CONDITIONS} entries (got ${r.conditions.length})`, reason: "TOO_MANY" });
    return out;
  }
  const seen = new Set<string>();
  r.conditions.forEach((c, i) => {
    const typeViolations = conditionText(c.type, MAX_CONDITION_TYPE_LENGTH, `conditions[${i}].type`);
    if (c.type === "") out.push({ field: `conditions[${i}].type`, description: "is required", reason: "REQUIRED" });
    else if (typeViolations.length > 0) out.push(...typeViolations);
    else if (seen.has(c.type)) out.push({ field: `conditions[${i}].type`, description: `duplicate condition type ${c.type}`, reason: "DUPLICATE" });
    seen.add(c.type);
    if (c.status === undefined) {
      out.push({ field: `conditions[${i}].status`, description: "must be CONDITION_STATUS_TRUE, _FALSE or _UNKNOWN", reason: "ENUM" });
    }
    out.push(
      ...conditionText(c.reason, MAX_CONDITION_REASON_LENGTH, `conditions[${i}].reason`),
      ...conditionText(c.message, MAX_CONDITION_MESSAGE_LENGTH, `conditions[${i}].message`),
    );
  });
  for (const type of MANDATORY) {
    if (!seen.has(type)) out.push({ field: "conditions", description: `missing mandatory condition ${type}`, reason: "MISSING_CONDITION" });
  }
  return out;
}
