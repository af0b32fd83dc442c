/**
 * Real tokens for tests (issue 18): a local issuer whose signing key lives in a temporary directory,
 * the authenticator a server installs to trust it, and tokens for each role of the permission table.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Interceptor } from "@connectrpc/connect";
import { bearerInterceptor, createJwtAuth, createTokenVerifier, openLocalIssuer, staticToken, type Authenticator, type LocalIssuer, type Role } from "../../services/shared/auth/index.js";

/** Who the test callers are: identity → roles, as a deployment's bindings say. */
export const TEST_IDENTITIES: Readonly<Record<string, readonly Role[]>> = {
  "test:operator": ["operator"],
  "test:user": ["user"],
  "test:reader": ["reader"],
  "test:sentinel": ["sentinel"],
  "test:adapter-validation": ["adapter:validation"],
  "test:adapter-dns": ["adapter:dns"],
  "test:adapter-placement": ["adapter:placement"],
  "test:adapter-nodepool": ["adapter:nodepool"],
  "test:proxy": ["user"],
  "test:nobody": [],
};

export interface TestIssuer {
  readonly issuer: LocalIssuer;
  /** What a server installs to accept this issuer's tokens (test:proxy is a trusted proxy). */
  authenticator(): Authenticator;
  /** A fresh token for `identity` (default lifetime an hour). */
  token(identity: string, opts?: { ttlSeconds?: number; audience?: string }): Promise<string>;
  /** `authorization: Bearer` with `identity`'s token on every call. */
  credentials(identity: string): Promise<Interceptor[]>;
  remove(): void;
}

export async function createTestIssuer(): Promise<TestIssuer> {
  const dir = mkdtempSync(join(tmpdir(), "hf-issuer-"));
  const issuer = await openLocalIssuer(dir, { issuer: "hyperfleet-test", audience: "hyperfleet" });
  const identities = new Map(Object.entries(TEST_IDENTITIES));
  const token = (identity: string, opts: { ttlSeconds?: number; audience?: string } = {}) => issuer.issue({ sub: identity, ...opts });
  return {
    issuer,
    authenticator: () => createJwtAuth({ verifier: createTokenVerifier([issuer.config()]), bindings: { identities, claims: new Map() }, trustedProxies: ["test:proxy"] }),
    token,
    credentials: async (identity) => [bearerInterceptor(staticToken(await token(identity)))],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
