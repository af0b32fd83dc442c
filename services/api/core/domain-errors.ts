/** One bad field, named the way protovalidate names a violation's field path. */
export interface Violation {
  field: string;
  description: string;
  /** UPPER_SNAKE_CASE, e.g. REQUIRED, PATTERN, TOO_LONG. */
  reason: string;
}

/** The request is malformed; every violation is reported at once. */
export class InvalidArgumentError extends Error {
  constructor(readonly violations: Violation[]) {
    super(violations.map((v) => `${v.field}: ${v.description}`).join("; "));
    this.name = "InvalidArgumentError";
  }
}

/** The named resource does not exist (or is not visible). */
export class NotFoundError extends Error {
  constructor(kind: string, id: string) {
    super(`${kind} ${JSON.stringify(id)} not found`);
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
