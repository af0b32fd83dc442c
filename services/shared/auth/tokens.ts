import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Interceptor } from "@connectrpc/connect";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from "jose";
import type { IssuerConfig } from "./verify.js";

/** Where a client's bearer token comes from, now. */
export interface TokenSource {
  current(): string;
}

/** A fixed token (hf --token, HF_TOKEN). */
export function staticToken(token: string): TokenSource {
  return { current: () => token };
}

/**
 * A token read from a file and read again when the file changes, as a Kubernetes projected
 * service-account token is rotated under the pod. The file is looked at (stat) at most every
 * `checkMs`; while it is missing or empty the last token read stays in use. Throws if the file has no
 * token at creation, so that a misconfigured service fails at startup.
 */
export function fileTokenSource(path: string, opts: { checkMs?: number; now?: () => number } = {}): TokenSource {
  const checkMs = opts.checkMs ?? 1000;
  const now = opts.now ?? Date.now;
  const read = () => {
    const s = statSync(path);
    return { stamp: `${s.ino}:${s.size}:${s.mtimeMs}`, token: readFileSync(path, "utf8").trim() };
  };
  let { stamp, token } = read();
  if (token === "") throw new Error(`${path}: the token file is empty`);
  let checkedAt = now();
  return {
    current() {
      if (now() - checkedAt < checkMs) return token;
      checkedAt = now();
      try {
        const s = statSync(path);
        const next = `${s.ino}:${s.size}:${s.mtimeMs}`;
        if (next !== stamp) {
          const t = readFileSync(path, "utf8").trim();
          if (t !== "") {
            token = t;
            stamp = next;
          }
        }
      } catch {
        // Kept: the last token (the kubelet swaps the file by a symlink; a moment without it is normal).
      }
      return token;
    },
  };
}

/** Adds `authorization: Bearer <token>` to every call (any Connect transport, createFastGrpcTransport included). */
export function bearerInterceptor(source: TokenSource): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${source.current()}`);
    return next(req);
  };
}

/** What a local token says: who (sub), for how long, and optionally the values of its roles claim. */
export interface LocalTokenClaims {
  sub: string;
  /** Lifetime in seconds (default 3600). */
  ttlSeconds?: number;
  roles?: string[];
  /** Default: the issuer's audience. */
  audience?: string;
}

/** A signing key and its JWKS under a directory: the local bootstrap's issuer (`npm start`, tests). */
export interface LocalIssuer {
  readonly issuer: string;
  readonly audience: string;
  /** The public keys, for a verifier's jwksFile. */
  readonly jwksFile: string;
  /** The issuer entry a server's auth config needs to accept these tokens (roles claim "roles"). */
  config(): IssuerConfig;
  issue(claims: LocalTokenClaims): Promise<string>;
  /** A new signing key; the previous one stays in the JWKS, so that its tokens keep verifying until retire(). */
  rotate(): Promise<void>;
  /** Drops every key but the signing one from the JWKS: tokens signed by retired keys stop verifying. */
  retire(): Promise<void>;
  /** Key ids in the JWKS, the signing key first. */
  keyIds(): string[];
  /** When the signing key was made (ms since the epoch; 0 for a key stored before this was recorded). */
  signingKeyCreatedAt(): number;
}

interface StoredKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
  /** ms since the epoch: the age rotation goes by. */
  createdAt?: number;
}

const ALG = "ES256";
const KEYS_FILE = "signing-keys.json";
const JWKS_FILE = "jwks.json";

/**
 * Opens the issuer stored under `dir` (signing-keys.json, private, mode 0600; jwks.json, public),
 * creating a first ES256 key when there is none. Files are written whole and renamed into place,
 * so that a verifier never reads half a JWKS.
 */
export async function openLocalIssuer(dir: string, opts: { issuer?: string; audience?: string; now?: () => number } = {}): Promise<LocalIssuer> {
  const issuer = opts.issuer ?? "hyperfleet-local";
  const audience = opts.audience ?? "hyperfleet";
  const now = opts.now ?? Date.now;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keysPath = join(dir, KEYS_FILE);
  const jwksFile = join(dir, JWKS_FILE);
  let keys: StoredKey[] = [];
  try {
    keys = JSON.parse(readFileSync(keysPath, "utf8")) as StoredKey[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`${keysPath}: unreadable signing keys (${(err as Error).message})`);
  }
  let signing: CryptoKey | undefined;

  const save = () => {
    writeAtomically(keysPath, JSON.stringify(keys), 0o600);
    writeAtomically(jwksFile, JSON.stringify({ keys: keys.map((k) => k.publicJwk) }), 0o644);
  };
  const addKey = async () => {
    const pair = await generateKeyPair(ALG, { extractable: true });
    const publicJwk = await exportJWK(pair.publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = { ...(await exportJWK(pair.privateKey)), kid, alg: ALG };
    keys = [{ kid, privateJwk, publicJwk: { ...publicJwk, kid, alg: ALG, use: "sig" }, createdAt: now() }, ...keys];
    signing = pair.privateKey;
    save();
  };
  if (keys.length === 0) await addKey();
  else save();

  return {
    issuer,
    audience,
    jwksFile,
    config: () => ({ issuer, audience, jwksFile, identityClaim: "sub", rolesClaim: "roles" }),
    async issue(claims) {
      signing ??= (await importJWK(keys[0].privateJwk, ALG)) as CryptoKey;
      const iat = Math.floor(now() / 1000);
      const jwt = new SignJWT(claims.roles ? { roles: claims.roles } : {})
        .setProtectedHeader({ alg: ALG, kid: keys[0].kid, typ: "JWT" })
        .setIssuer(issuer)
        .setAudience(claims.audience ?? audience)
        .setSubject(claims.sub)
        .setIssuedAt(iat)
        .setExpirationTime(iat + (claims.ttlSeconds ?? 3600))
        .setJti(randomUUID());
      return jwt.sign(signing);
    },
    rotate: addKey,
    async retire() {
      keys = keys.slice(0, 1);
      save();
    },
    keyIds: () => keys.map((k) => k.kid),
    signingKeyCreatedAt: () => keys[0].createdAt ?? 0,
  };
}

function writeAtomically(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}
