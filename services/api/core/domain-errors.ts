import { MAX_VIOLATION_DESCRIPTION_LENGTH, MAX_VIOLATION_FIELD_LENGTH, MAX_VIOLATIONS, MAX_VIOLATIONS_BYTES } from "../limits.js";

/** One bad field, named the way protovalidate names a violation's field path. */
export interface Violation {
  field: string;
  description: string;
  /** UPPER_SNAKE_CASE, e.g. REQUIRED, PATTERN, TOO_LONG. */
  reason: string;
}

/**
 * The request is malformed; its violations are reported at once, but at most MAX_VIOLATIONS of them
 * (and MAX_VIOLATIONS_BYTES of text), each clipped: the message, the BadRequest detail and the log
 * line are all built from `violations`, and a hostile request must not make any of them large.
 */
export class InvalidArgumentError extends Error {
  /** The violations listed (clipped); `omitted` more were found but not listed. */
  readonly violations: Violation[];
  readonly omitted: number;

  constructor(violations: Violation[]) {
    const listed = listViolations(violations);
    const omitted = violations.length - listed.length;
    super(listed.map((v) => `${v.field}: ${v.description}`).join("; ") + (omitted > 0 ? `; and ${omitted} more` : ""));
    this.name = "InvalidArgumentError";
    this.violations = listed;
    this.omitted = omitted;
  }
}

/** The first violations, clipped, while they fit MAX_VIOLATIONS and MAX_VIOLATIONS_BYTES (always at least one). */
function listViolations(all: Violation[]): Violation[] {
  const out: Violation[] = [];
  let bytes = 0;
  for (const v of all) {
    if (out.length >= MAX_VIOLATIONS) break;
    const c = { field: clip(v.field, MAX_VIOLATION_FIELD_LENGTH), description: clip(v.description, MAX_VIOLATION_DESCRIPTION_LENGTH), reason: clip(v.reason, 64) };
    bytes += Buffer.byteLength(c.field) + Buffer.byteLength(c.description);
    if (out.length > 0 && bytes > MAX_VIOLATIONS_BYTES) break;
    out.push(c);
  }
  return out;
}

/** `s` cut to `max` characters, marked with "…" when cut (never splitting a surrogate pair). */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  if (/[\uD800-\uDBFF]/.test(s[end - 1] ?? "")) end--;
  return `${s.slice(0, end)}…`;
}

/** The named resource does not exist (or is not visible). */
export class NotFoundError extends Error {
  constructor(kind: string, id: string) {
    // The id is the caller's text: quoted, clipped (ids are UUIDs; anything long is not one anyway).
    super(`${kind} ${JSON.stringify(clip(id, 64))} not found`);
    this.name = "NotFoundError";
  }
}

/** A live resource already uses the name. */
export class AlreadyExistsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AlreadyExistsError";
  }
}

/** The resource is in a state that forbids the change (e.g. being deleted). */
export class FailedPreconditionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FailedPreconditionError";
  }
}

/** A dependency (the database) cannot be reached right now; retrying later may succeed. */
export class UnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UnavailableError";
  }
}

/** A bound on queued or concurrent work was reached; retrying later, or with less, may succeed. */
export class ResourceExhaustedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResourceExhaustedError";
  }
}
