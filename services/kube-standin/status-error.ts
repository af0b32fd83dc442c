import type { ResourceType } from "./resource-types.js";

/** An API error rendered as a Kubernetes Status body (what client-node and kubectl parse). */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "StatusError";
  }

  toStatus() {
    return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: this.message, reason: this.reason, details: this.details, code: this.code };
  }
}

const qualified = (t: ResourceType) => (t.group === "" ? t.resource : `${t.resource}.${t.group}`);

export const notFound = (t: ResourceType, name: string) =>
  new StatusError(404, "NotFound", `${qualified(t)} "${name}" not found`, { name, group: t.group, kind: t.resource });

export const alreadyExists = (t: ResourceType, name: string) =>
  new StatusError(409, "AlreadyExists", `${qualified(t)} "${name}" already exists`, { name, group: t.group, kind: t.resource });

export const conflict = (t: ResourceType, name: string) =>
  new StatusError(409, "Conflict", `Operation cannot be fulfilled on ${qualified(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, {
    name,
    group: t.group,
    kind: t.resource,
  });

export const invalid = (t: ResourceType, name: string, field: string, message: string) =>
  new StatusError(422, "Invalid", `${t.kind}.${t.group || "core"} "${name}" is invalid: ${field}: ${message}`, {
    name,
    group: t.group,
    kind: t.kind,
    causes: [{ reason: "FieldValueInvalid", message, field }],
  });

export const badRequest = (message: string) => new StatusError(400, "BadRequest", message);
