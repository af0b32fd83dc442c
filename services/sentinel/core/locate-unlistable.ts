/**
 * Finding the one resource the API cannot list, so that a poll can step over it. Page tokens are
 * keyset cursors: once a page fails even at one row, its token gives no way past the row, and the
 * Sentinel does not know the row's id (the API never returned it). Ids are ordered, and the filter
 * can bound them (`id > 'a' and id <= 'b'`), so the id is found by bisecting the id space with
 * one-row probes: the failing row is the first match after `after`, so a range (after, mid] fails
 * exactly when the row is in it and is empty otherwise. At most 130 probes (a UUID's 128 bits, a
 * guard and a confirmation), each one row.
 */

/** What a one-row list of the matches in (after, upTo] did. */
export type ProbeResult =
  | { kind: "fails" }
  | { kind: "empty" }
  /** A row came back: the listing changed since the failure (the row was fixed, removed or overtaken). */
  | { kind: "found" };

/** Lists at most one match with an id in (after, upTo]; throws only for errors that end the search. */
export type Probe = (after: string, upTo: string) => Promise<ProbeResult>;

export type LocateOutcome =
  /** The first match after `after` fails on its own: its id. */
  | { kind: "located"; id: string; probes: number }
  /** An empty range fails too: the failure is not any row's (e.g. the filter), so nothing can be skipped. */
  | { kind: "not-a-row"; probes: number }
  /** The listing changed meanwhile: nothing fails in (previous after, after]; list again from `after`. */
  | { kind: "resume"; after: string; probes: number };

/** The smallest and largest UUIDs: no resource has the nil UUID, so "after NIL" is every id. */
export const NIL_UUID = "00000000-0000-0000-0000-000000000000";
export const MAX_UUID = "ffffffff-ffff-ffff-ffff-ffffffffffff";

/** A canonical (lowercase, hyphenated) UUID as a 128-bit number; ids compare as their numbers do. */
export function uuidToBigInt(id: string): bigint {
  return BigInt(`0x${id.replace(/-/g, "")}`);
}

/** The canonical text of a 128-bit number, which is how Postgres prints a uuid. */
export function bigIntToUuid(n: bigint): string {
  const hex = n.toString(16).padStart(32, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Finds the id of the first match after `after` (NIL_UUID: from the start) that cannot be listed,
 * given that listing from there fails. First checks that an empty range lists fine, so a failure
 * that is no row's never turns into skipping one.
 */
export async function locateUnlistable(after: string, probe: Probe): Promise<LocateOutcome> {
  let probes = 1;
  if ((await probe(after, after)).kind === "fails") return { kind: "not-a-row", probes };
  // Invariant: the failing row's id is in (lo, hi], and (after, lo] lists empty.
  let lo = uuidToBigInt(after);
  let hi = uuidToBigInt(MAX_UUID);
  while (hi - lo > 1n) {
    const mid = lo + (hi - lo) / 2n;
    probes++;
    const r = await probe(bigIntToUuid(lo), bigIntToUuid(mid));
    if (r.kind === "found") return { kind: "resume", after: bigIntToUuid(lo), probes };
    if (r.kind === "fails") hi = mid;
    else lo = mid;
  }
  // One id is left. Confirm it fails alone (the listing may have changed during the search), so that
  // the id reported and skipped is a real resource's.
  probes++;
  const last = await probe(bigIntToUuid(lo), bigIntToUuid(hi));
  if (last.kind === "fails") return { kind: "located", id: bigIntToUuid(hi), probes };
  return { kind: "resume", after: bigIntToUuid(last.kind === "empty" ? hi : lo), probes };
}
