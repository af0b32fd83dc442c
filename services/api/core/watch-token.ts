/**
 * A watch's resume token (WatchClusters, WatchNodePools): the Postgres snapshot up to which every
 * change has been sent, the kind it is for, and when the API issued it (changes are replayable for
 * CHANGE_RETENTION_MS only). Opaque to clients: base64url of a small JSON. Pure.
 */
import { MAX_RESUME_TOKEN_LENGTH } from "../limits.js";
import { InvalidArgumentError } from "./domain-errors.js";

export type WatchKind = "clusters" | "nodepools";

export interface WatchToken {
  kind: WatchKind;
  /** pg_snapshot text, "xmin:xmax:xip,...". */
  snapshot: string;
  /** When the API took the snapshot (its clock, ms since the epoch). */
  issuedMs: number;
}

/** How long removals stay replayable: a token older than this (less a minute's margin) starts over with a listing. */
export const CHANGE_RETENTION_MS = 60 * 60_000;
const RETENTION_MARGIN_MS = 60_000;

/** At most this many in-progress transactions in a snapshot: well above max_connections anywhere we run. */
const MAX_XIP = 1000;
const XID = /^(0|[1-9]\d{0,19})$/;

/** Whether `text` is a snapshot as pg_current_snapshot() writes it (xmin ≤ every xip < xmax), so Postgres never sees a bad one. */
export function isSnapshot(text: string): boolean {
  const parts = text.split(":");
  if (parts.length !== 3 || !XID.test(parts[0]) || !XID.test(parts[1])) return false;
  const xmin = BigInt(parts[0]);
  const xmax = BigInt(parts[1]);
  // Postgres refuses a snapshot whose bounds are not valid transaction ids (their low 32 bits below 3).
  if ((xmin & 0xffffffffn) < 3n || (xmax & 0xffffffffn) < 3n || xmax < xmin || xmax >= 1n << 63n) return false;
  if (parts[2] === "") return true;
  const xip = parts[2].split(",");
  if (xip.length > MAX_XIP) return false;
  let previous = xmin - 1n;
  for (const x of xip) {
    if (!XID.test(x)) return false;
    const v = BigInt(x);
    if (v <= previous || v >= xmax) return false;
    previous = v;
  }
  return true;
}

/** The snapshot's xmax: every transaction from it on had not started when it was taken. */
export function snapshotXmax(snapshot: string): bigint {
  return BigInt(snapshot.split(":")[1]);
}

export function encodeWatchToken(t: WatchToken): string {
  return Buffer.from(JSON.stringify({ k: t.kind, s: t.snapshot, t: t.issuedMs })).toString("base64url");
}

/** The token a client sent back, or InvalidArgument naming `field`. */
export function decodeWatchToken(text: string, kind: WatchKind, field = "resume_token"): WatchToken {
  const bad = (description: string) => new InvalidArgumentError([{ field, description, reason: "INVALID" }]);
  if (text.length > MAX_RESUME_TOKEN_LENGTH) throw bad(`must be at most ${MAX_RESUME_TOKEN_LENGTH} characters (got ${text.length})`);
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw bad("is not a token this API issued");
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw bad("is not a token this API issued");
  }
  const { k, s, t } = (o ?? {}) as Record<string, unknown>;
  if ((k !== "clusters" && k !== "nodepools") || typeof s !== "string" || !isSnapshot(s) || typeof t !== "number" || !Number.isSafeInteger(t) || t < 0) {
    throw bad("is not a token this API issued");
  }
  if (k !== kind) throw bad(`was issued by a watch of ${k}, not ${kind}`);
  return { kind: k, snapshot: s, issuedMs: t };
}

/** Whether the changes since `t` may no longer all be replayable (removals are pruned after CHANGE_RETENTION_MS). */
export function tokenExpired(t: WatchToken, nowMs: number): boolean {
  // One from the future was not issued by a replica with a sane clock: start over rather than trust it.
  return nowMs - t.issuedMs > CHANGE_RETENTION_MS - RETENTION_MARGIN_MS || t.issuedMs - nowMs > RETENTION_MARGIN_MS;
}
