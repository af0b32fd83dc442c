import { readFile, stat } from "node:fs/promises";
import { createLocalJWKSet, createRemoteJWKSet, customFetch, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";

/** One trusted token issuer (docs/security.md, "Issuers"). */
export interface IssuerConfig {
  /** The `iss` its tokens carry, exactly. */
  issuer: string;
  /** Its signing keys: an https JWKS URL (http only on loopback), or a JWKS file re-read when it changes. */
  jwksUrl?: string;
  jwksFile?: string;
  /** A token is accepted when its `aud` holds one of these. */
  audience: string | string[];
  /** The claim whose string value is the caller's identity (default "sub"). */
  identityClaim?: string;
  /** A claim whose values (a string or strings) are looked up in the role bindings' `claims`. */
  rolesClaim?: string;
  /**
   * Prepended to every identity from this issuer, so that two issuers cannot mint the same identity
   * (as Kubernetes' --oidc-username-prefix). Default: none.
   */
  identityPrefix?: string;
}

/** A token that verified: who it names, who issued it, the values of its roles claim, and until when it holds. */
export interface VerifiedToken {
  readonly identity: string;
  readonly issuer: string;
  readonly claimRoles: readonly string[];
  /** Milliseconds since the epoch: the token's exp. */
  readonly expiresAt: number;
}

/**
 * Why a token was not accepted (a closed set: log fields and metric labels). Every reason but
 * keys_unavailable is the caller's (Unauthenticated); keys_unavailable is the issuer's JWKS that
 * could not be fetched or read, which a retry may cure (Unavailable).
 */
export type VerifyFailure = "missing" | "malformed" | "bad_signature" | "unknown_key" | "expired" | "not_yet_valid" | "wrong_audience" | "unknown_issuer" | "keys_unavailable";

/** `cause` (keys_unavailable only) is for the server's log, never for the caller. */
export type VerifyOutcome = { readonly ok: true; readonly token: VerifiedToken } | { readonly ok: false; readonly reason: VerifyFailure; readonly cause?: unknown };

export interface VerifierOptions {
  /** Verified tokens remembered (least recently used dropped first); default 10,000. */
  cacheSize?: number;
  /**
   * Longest a verified token is trusted without verifying it again, even before its exp (default 5 min):
   * bounds how long a key removed from a remote JWKS keeps being honoured through the cache.
   */
  cacheMaxAgeMs?: number;
  /** Skew allowed on exp and nbf, in seconds (default 30). */
  clockToleranceS?: number;
  /** Least time between two checks of a JWKS file for changes (default 2 s). */
  jwksFileCheckMs?: number;
  /** A remote JWKS is fetched again on an unknown kid at most this often (default 30 s, jose's cooldown). */
  jwksCooldownMs?: number;
  /** A remote JWKS older than this is fetched again (default 5 min). */
  jwksMaxAgeMs?: number;
  /** A JWKS fetch that takes longer fails (default 5 s). */
  jwksTimeoutMs?: number;
  /** The clock (ms since the epoch), for tests. */
  now?: () => number;
}

export interface TokenVerifier {
  /** Verifies an `authorization` header value ("Bearer <jwt>"); undefined or null when the header is absent. */
  verify(authorization: string | null | undefined): Promise<VerifyOutcome>;
  /** Signature verifications run and cache hits, since creation. */
  stats(): { verifications: number; cacheHits: number; cached: number };
}

const ALGORITHMS = ["RS256", "ES256", "EdDSA"];
const BEARER_PREFIX = /^bearer /i;
/** RFC 6750's token characters: one token, no spaces. */
const JWT_CHARS = /^[A-Za-z0-9._~+/=-]+$/;

/**
 * Verifies bearer JWTs against `issuers` with jose. A verified token is remembered (by its authorization header)
 * until its exp, so a client sending the same token costs one signature check per token, not per
 * call; a change to an issuer's keys forgets that issuer's tokens.
 */
export function createTokenVerifier(issuers: readonly IssuerConfig[], opts: VerifierOptions = {}): TokenVerifier {
  const now = opts.now ?? Date.now;
  const cacheSize = opts.cacheSize ?? 10_000;
  const cacheMaxAgeMs = opts.cacheMaxAgeMs ?? 5 * 60_000;
  const clockTolerance = opts.clockToleranceS ?? 30;
  const cache = new Map<string, CachedToken>();
  const pending = new Map<string, Promise<VerifyOutcome>>();
  let verifications = 0;
  let cacheHits = 0;

  const forget = (issuer: string) => {
    for (const [k, v] of cache) if (v.issuer === issuer) cache.delete(k);
  };
  const byIssuer = new Map(
    issuers.map((cfg) => {
      const keys = cfg.jwksFile
        ? fileKeySet(cfg.jwksFile, opts.jwksFileCheckMs ?? 2000, now, () => forget(cfg.issuer))
        : remoteKeySet(cfg.jwksUrl!, opts, () => forget(cfg.issuer));
      return [cfg.issuer, { cfg, keys }] as const;
    }),
  );

  async function verifyToken(token: string, key: string): Promise<VerifyOutcome> {
    let iss: string | undefined;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      return { ok: false, reason: "malformed" };
    }
    const issuer = iss === undefined ? undefined : byIssuer.get(iss);
    if (!issuer) return { ok: false, reason: "unknown_issuer" };
    const { cfg, keys } = issuer;
    let payload: JWTPayload;
    verifications++;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: cfg.issuer,
        audience: cfg.audience,
        algorithms: ALGORITHMS,
        clockTolerance,
        currentDate: new Date(now()),
        // A token without an expiry would be good forever.
        requiredClaims: ["exp"],
      }));
    } catch (err) {
      const reason = failureOf(err);
      return reason === "keys_unavailable" ? { ok: false, reason, cause: err } : { ok: false, reason };
    }
    const id = payload[cfg.identityClaim ?? "sub"];
    if (typeof id !== "string" || id === "") return { ok: false, reason: "malformed" };
    const token_: CachedToken = {
      identity: (cfg.identityPrefix ?? "") + id,
      issuer: cfg.issuer,
      claimRoles: cfg.rolesClaim ? stringsOf(payload[cfg.rolesClaim]) : [],
      expiresAt: payload.exp! * 1000,
      until: Math.min(payload.exp! * 1000, now() + cacheMaxAgeMs),
    };
    cache.set(key, token_);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
    return { ok: true, token: token_ };
  }

  return {
    async verify(authorization) {
      if (authorization === undefined || authorization === null || authorization.trim() === "") return { ok: false, reason: "missing" };
      // Keyed by the header as it came: a hit costs one string hash and a map lookup (a SHA-256 of
      // the token was 0.5 % of the API's CPU under report load). Only verified tokens are ever keys.
      const key = authorization;
      let hit = cache.get(key);
      // Hot tokens' issuer keys are still looked at now and then: a removed key stops counting for them too.
      const due = hit && byIssuer.get(hit.issuer)?.keys.poll();
      if (due) {
        await due;
        hit = cache.get(key);
      }
      if (hit && now() < hit.until) {
        cacheHits++;
        // Most recently used last: eviction takes the first.
        cache.delete(key);
        cache.set(key, hit);
        return { ok: true, token: hit };
      }
      if (hit) cache.delete(key);
      // Calls that arrive together with a new token share one verification.
      let p = pending.get(key);
      if (!p) {
        // The token's syntax is checked only before it is verified: a cache hit is a token that was.
        if (!BEARER_PREFIX.test(authorization)) return { ok: false, reason: "malformed" };
        const token = authorization.slice(7).trim();
        if (!JWT_CHARS.test(token)) return { ok: false, reason: "malformed" };
        p = verifyToken(token, key).finally(() => pending.delete(key));
        pending.set(key, p);
      }
      return p;
    },
    stats: () => ({ verifications, cacheHits, cached: cache.size }),
  };
}

type CachedToken = VerifiedToken & { readonly until: number };

/** An issuer's keys for jwtVerify, and `poll`: a look for new keys when one is due, without a token to verify. */
type KeySet = JWTVerifyGetKey & { poll(): Promise<void> | undefined };

function stringsOf(v: unknown): string[] {
  if (typeof v === "string") return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** The JWKS could not be fetched or read: not the caller's fault. */
class KeysUnavailable extends Error {}

function failureOf(err: unknown): VerifyFailure {
  if (err instanceof errors.JWTExpired) return "expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "nbf") return "not_yet_valid";
    if (err.claim === "aud") return "wrong_audience";
    if (err.claim === "iss") return "unknown_issuer";
    return "malformed";
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JOSEAlgNotAllowed) return "bad_signature";
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return "unknown_key";
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) return "malformed";
  // A failed fetch, a timeout, an unreadable or invalid JWKS.
  return "keys_unavailable";
}

/**
 * jose's remote key set (cached; fetched again when older than jwksMaxAgeMs, and on an unknown kid at
 * most once per cooldown); `changed` runs when a fetch brings keys that differ from the last ones.
 */
function remoteKeySet(url: string, opts: VerifierOptions, changed: () => void): KeySet {
  let last: string | undefined;
  const keys = createRemoteJWKSet(new URL(url), {
    cooldownDuration: opts.jwksCooldownMs ?? 30_000,
    cacheMaxAge: opts.jwksMaxAgeMs ?? 5 * 60_000,
    timeoutDuration: opts.jwksTimeoutMs ?? 5000,
    async [customFetch](u, init) {
      const res = await fetch(u, init);
      if (res.status === 200) {
        const body = await res.clone().text();
        if (last !== undefined && body !== last) changed();
        last = body;
      }
      return res;
    },
  });
  // Cache hits do not wait for it: a failed fetch keeps the keys, and is tried again at the next hit.
  const poll = () => {
    if (!keys.fresh && !keys.reloading) keys.reload().catch(() => undefined);
    return undefined;
  };
  return Object.assign((...args: Parameters<JWTVerifyGetKey>) => keys(...args), { poll });
}

/**
 * A JWKS file (a mounted Secret, the local issuer's jwks.json), checked for changes at most every
 * `checkMs`; an unreadable or invalid new version keeps the previous keys.
 */
function fileKeySet(path: string, checkMs: number, now: () => number, changed: () => void): KeySet {
  let keys: ReturnType<typeof createLocalJWKSet> | undefined;
  let stamp = "";
  let checkedAt = -Infinity;
  let checking: Promise<void> | undefined;
  const check = async () => {
    try {
      const s = await stat(path);
      const next = `${s.ino}:${s.size}:${s.mtimeMs}`;
      if (next === stamp) return;
      const fresh = createLocalJWKSet(JSON.parse(await readFile(path, "utf8")));
      if (keys) changed();
      keys = fresh;
      stamp = next;
    } catch {
      // Kept: the previous keys (a half-written file is read again at the next check).
    }
  };
  const poll = () => {
    if (now() - checkedAt >= checkMs) {
      checkedAt = now();
      checking ??= check().finally(() => (checking = undefined));
    }
    return checking;
  };
  const getKey: JWTVerifyGetKey = async (header, token) => {
    await poll();
    if (!keys) throw new KeysUnavailable(`no usable JWKS in ${path}`);
    return keys(header, token);
  };
  return Object.assign(getKey, { poll });
}
