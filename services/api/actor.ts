/** The header that names who makes a change (created_by/updated_by/deleted_by). */
export const ACTOR_HEADER = "x-hyperfleet-user";

/** The caller's identity, or "anonymous" when the header is absent. */
export function actorOf(headers: Headers): string {
  const v = headers.get(ACTOR_HEADER)?.trim();
  return v ? v.slice(0, 256) : "anonymous";
}
