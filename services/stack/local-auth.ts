/**
 * `npm start`'s zero-setup security (issue 18): a local issuer (signing key under .hyperfleet/auth),
 * one short-lived token per service and one for the local user, renewed while the stack runs, and the
 * auth configuration every service reads (AUTH_CONFIG). Like kind writing a kubeconfig, the user's
 * credentials are written where hf finds them, so every README example works as written.
 */
import { writeFileSync, renameSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { openLocalIssuer, type LocalIssuer } from "../shared/auth/index.js";

/** The identities of the stack's callers, each bound to its least privilege. */
export function stackIdentities(adapters: readonly string[], user: string): { name: string; identity: string; roles: string[]; ttlSeconds: number }[] {
  return [
    { name: "sentinel", identity: "hyperfleet:sentinel", roles: ["sentinel"], ttlSeconds: SERVICE_TTL_S },
    ...adapters.map((a) => ({ name: `adapter-${a}`, identity: `hyperfleet:adapter:${a}`, roles: [`adapter:${a}`], ttlSeconds: SERVICE_TTL_S })),
    // The person who started the stack owns this machine's control plane: every right, ForceDelete included.
    { name: "user", identity: user, roles: ["operator"], ttlSeconds: USER_TTL_S },
  ];
}

/** Service tokens live an hour and are renewed every RENEW_MS: a stolen one is soon worthless. */
const SERVICE_TTL_S = 3600;
/** The user's token outlives a working day, so that an hf in another terminal keeps working between renewals. */
const USER_TTL_S = 12 * 3600;
export const RENEW_MS = 15 * 60_000;
/** The signing key is replaced when a start finds it older than this. */
export const ROTATE_AFTER_MS = 30 * 24 * 3600_000;

/**
 * Key rotation: `auto` replaces a signing key older than ROTATE_AFTER_MS and keeps the old one in the
 * JWKS until every token it signed has expired (USER_TTL_S), so nothing in flight is refused; `now`
 * (npm start -- --rotate-keys, for a key that may have leaked) replaces it and drops the old one at once.
 */
export type Rotation = "auto" | "now";

export interface LocalAuth {
  readonly issuer: LocalIssuer;
  /** AUTH_CONFIG for every service. */
  readonly configFile: string;
  /** The token file of a caller named by stackIdentities (`sentinel`, `adapter-dns`, `user`). */
  tokenFile(name: string): string;
  /** Issues every token again (the files are replaced whole; readers pick the new one up on change). */
  renew(): Promise<void>;
}

/**
 * Opens (or creates) the local issuer under `dir`, writes the auth configuration, and issues every
 * token. Files holding secrets are 0600 in a 0700 directory.
 */
export async function openLocalAuth(dir: string, adapters: readonly string[], user: string, opts: { rotation?: Rotation; now?: () => number } = {}): Promise<LocalAuth> {
  const now = opts.now ?? Date.now;
  const root = resolve(dir);
  const issuer = await openLocalIssuer(join(root, "keys"), { now });
  if (opts.rotation === "now") {
    await issuer.rotate();
    await issuer.retire();
  } else if (now() - issuer.signingKeyCreatedAt() > ROTATE_AFTER_MS) {
    await issuer.rotate();
  }
  const tokens = join(root, "tokens");
  mkdirSync(tokens, { recursive: true, mode: 0o700 });
  const callers = stackIdentities(adapters, user);
  const identities = Object.fromEntries(callers.map((c) => [c.identity, c.roles]));
  const configFile = join(root, "auth.json");
  const { issuer: iss, audience, jwksFile, identityClaim } = issuer.config();
  writeWhole(configFile, JSON.stringify({ issuers: [{ issuer: iss, audience, jwksFile, identityClaim }], bindings: { identities, claims: {} }, trustedProxies: [] }, null, 2), 0o644);
  const tokenFile = (name: string) => join(tokens, `${name}.token`);
  const renew = async () => {
    // Keys replaced before the signing one was made signed only tokens that have expired by now.
    if (issuer.keyIds().length > 1 && now() - issuer.signingKeyCreatedAt() > USER_TTL_S * 1000) await issuer.retire();
    for (const c of callers) writeWhole(tokenFile(c.name), `${await issuer.issue({ sub: c.identity, ttlSeconds: c.ttlSeconds })}\n`, 0o600);
  };
  await renew();
  return { issuer, configFile, tokenFile, renew };
}

function writeWhole(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/** The files a TLS stack's services are given: their certificate and key, and the CA clients trust. */
export interface LocalTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * `npm start -- --tls`: a local CA under dir/ca (made once) and a certificate for 127.0.0.1, ::1 and
 * localhost that every service serves, issued again at each start (valid 30 days).
 */
export async function openLocalTls(dir: string): Promise<LocalTls> {
  const root = resolve(dir);
  // Loaded only here: the X.509 library is needed by a TLS stack alone.
  const { openLocalCa } = await import("../shared/auth/local-ca.js");
  const ca = await openLocalCa(join(root, "ca"));
  const issued = await ca.issueCertificate({ ipAddresses: ["127.0.0.1", "::1"], dnsNames: ["localhost"], days: 30 });
  const certFile = join(root, "ca", "server.crt");
  const keyFile = join(root, "ca", "server.key");
  writeWhole(keyFile, issued.key, 0o600);
  writeWhole(certFile, issued.cert, 0o644);
  return { caFile: ca.certFile, certFile, keyFile };
}
