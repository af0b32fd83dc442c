const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a textual UUID (any version, either case): what every resource id is. */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}
