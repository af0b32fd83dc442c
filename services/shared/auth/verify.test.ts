import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";
import { createTokenVerifier, type IssuerConfig, type VerifyFailure } from "./verify.js";

interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(kid: string, alg = "ES256"): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

const ISS = "https://issuer.test";
const AUD = "hyperfleet";
const nowS = () => Math.floor(Date.now() / 1000);

/** A token from `key`: sensible defaults, each overridable; `null` leaves a claim out. */
function sign(key: TestKey, claims: Partial<Record<keyof JWTPayload | "roles" | "email", unknown>> = {}, header: { kid?: string; alg?: string } = {}): Promise<string> {
  const base: Record<string, unknown> = { iss: ISS, aud: AUD, sub: "alice", iat: nowS(), exp: nowS() + 600, ...claims };
  for (const k of Object.keys(base)) if (base[k] === null) delete base[k];
  return new SignJWT(base).setProtectedHeader({ alg: header.alg ?? key.alg, kid: header.kid ?? key.kid }).sign(key.privateKey);
}

const jwks = (...keys: TestKey[]) => JSON.stringify({ keys: keys.map((k) => k.jwk) });

let dir: string;
let keyA: TestKey;
let keyB: TestKey;
let jwksFile: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hf-verify-"));
  keyA = await makeKey("a");
  keyB = await makeKey("b");
  jwksFile = join(dir, "jwks.json");
  writeFileSync(jwksFile, jwks(keyA));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const issuer = (over: Partial<IssuerConfig> = {}): IssuerConfig => ({ issuer: ISS, audience: AUD, jwksFile, ...over });

describe("each failure has its reason", () => {
  const cases: [string, () => Promise<string | undefined>, VerifyFailure][] = [
    ["no header → missing", async () => undefined, "missing"],
    ["an empty header → missing", async () => "  ", "missing"],
    ["another scheme → malformed", async () => "Basic YWxpY2U6cHc=", "malformed"],
    ["two tokens → malformed", async () => `Bearer ${await sign(keyA)} ${await sign(keyA)}`, "malformed"],
    ["not a JWT → malformed", async () => "Bearer not-a-jwt", "malformed"],
    ["no exp (it would never expire) → malformed", async () => `Bearer ${await sign(keyA, { exp: null })}`, "malformed"],
    ["no identity claim → malformed", async () => `Bearer ${await sign(keyA, { sub: null })}`, "malformed"],
    ["signed by another key under a known kid → bad_signature", async () => `Bearer ${await sign(keyB, {}, { kid: "a" })}`, "bad_signature"],
    ["a kid the JWKS does not have → unknown_key", async () => `Bearer ${await sign(keyB)}`, "unknown_key"],
    ["expired beyond the 30 s skew → expired", async () => `Bearer ${await sign(keyA, { exp: nowS() - 31 })}`, "expired"],
    ["not valid before 31 s from now → not_yet_valid", async () => `Bearer ${await sign(keyA, { nbf: nowS() + 31 })}`, "not_yet_valid"],
    ["for another audience → wrong_audience", async () => `Bearer ${await sign(keyA, { aud: "someone-else" })}`, "wrong_audience"],
    ["from an issuer not configured → unknown_issuer", async () => `Bearer ${await sign(keyA, { iss: "https://evil.test" })}`, "unknown_issuer"],
    ["without an issuer → unknown_issuer", async () => `Bearer ${await sign(keyA, { iss: null })}`, "unknown_issuer"],
  ];
  test.each(cases)("%s", async (_name, header, reason) => {
    const v = createTokenVerifier([issuer()]);
    expect(await v.verify(await header())).toEqual({ ok: false, reason });
  });

  test("an HS256 token made with the public key as its secret (algorithm confusion) → bad_signature", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(keyA.jwk));
    const token = await new SignJWT({ iss: ISS, aud: AUD, sub: "mallory", exp: nowS() + 60 }).setProtectedHeader({ alg: "HS256", kid: "a" }).sign(secret);
    expect(await createTokenVerifier([issuer()]).verify(`Bearer ${token}`)).toEqual({ ok: false, reason: "bad_signature" });
  });

  test("a JWKS file that is not there → keys_unavailable (not the caller's fault), with the cause for the log", async () => {
    const out = await createTokenVerifier([issuer({ jwksFile: join(dir, "absent.json") })]).verify(`Bearer ${await sign(keyA)}`);
    expect(out).toMatchObject({ ok: false, reason: "keys_unavailable" });
  });
});

test.each([
  ["expired 20 s ago, within the 30 s skew", { exp: nowS() - 20 }],
  ["valid from 20 s from now, within the 30 s skew", { nbf: nowS() + 20 }],
])("accepted: %s", async (_name, claims) => {
  expect(await createTokenVerifier([issuer()]).verify(`Bearer ${await sign(keyA, claims)}`)).toMatchObject({ ok: true });
});

test("the identity comes from the configured claim (with the issuer's prefix), the roles claim's values are kept, and 'bearer' is case-insensitive", async () => {
  const v = createTokenVerifier([issuer({ identityClaim: "email", rolesClaim: "groups", identityPrefix: "corp:", audience: ["other", AUD] })]);
  const out = await v.verify(`bearer ${await sign(keyA, { email: "alice@example.com", groups: ["admins", 7, "viewers"] } as never)}`);
  expect(out).toEqual({ ok: true, token: { identity: "corp:alice@example.com", issuer: ISS, claimRoles: ["admins", "viewers"], expiresAt: expect.any(Number), until: expect.any(Number) } });
});

test.each(["RS256", "EdDSA", "ES256"])("%s tokens verify", async (alg) => {
  const k = await makeKey(`k-${alg}`, alg);
  const file = join(dir, `jwks-${alg}.json`);
  writeFileSync(file, jwks(k));
  expect(await createTokenVerifier([issuer({ jwksFile: file })]).verify(`Bearer ${await sign(k)}`)).toMatchObject({ ok: true, token: { identity: "alice" } });
});

test("two issuers: each token is checked against its own issuer's keys", async () => {
  const other = join(dir, "jwks-other.json");
  writeFileSync(other, jwks(keyB));
  const v = createTokenVerifier([issuer(), { issuer: "https://other.test", audience: AUD, jwksFile: other }]);
  expect(await v.verify(`Bearer ${await sign(keyB, { iss: "https://other.test", sub: "bob" })}`)).toMatchObject({ ok: true, token: { identity: "bob", issuer: "https://other.test" } });
  // keyB is trusted for the other issuer only.
  expect(await v.verify(`Bearer ${await sign(keyB, {}, { kid: "a" })}`)).toEqual({ ok: false, reason: "bad_signature" });
});

describe("the verified-token cache", () => {
  test("a hot client costs one verification per token, not per call; calls arriving together share one", async () => {
    const v = createTokenVerifier([issuer()]);
    const t1 = `Bearer ${await sign(keyA)}`;
    for (let i = 0; i < 100; i++) expect((await v.verify(t1)).ok).toBe(true);
    expect(v.stats()).toMatchObject({ verifications: 1, cacheHits: 99 });
    const t2 = `Bearer ${await sign(keyA, { sub: "bob" })}`;
    const together = await Promise.all(Array.from({ length: 10 }, () => v.verify(t2)));
    expect(together.every((o) => o.ok && o.token.identity === "bob")).toBe(true);
    expect(v.stats()).toMatchObject({ verifications: 2 });
  });

  test("a failed token is not remembered: a bad token is verified (and refused) each time", async () => {
    const v = createTokenVerifier([issuer()]);
    const bad = `Bearer ${await sign(keyA, { aud: "x" })}`;
    await v.verify(bad);
    await v.verify(bad);
    expect(v.stats()).toMatchObject({ verifications: 2, cacheHits: 0, cached: 0 });
  });

  test("a cached token is good until its exp only: then it is verified again, and refused", async () => {
    let clock = Date.now();
    const v = createTokenVerifier([issuer()], { now: () => clock });
    const t = `Bearer ${await sign(keyA, { exp: Math.floor(clock / 1000) + 60 })}`;
    expect((await v.verify(t)).ok).toBe(true);
    clock += 59_000;
    expect((await v.verify(t)).ok).toBe(true);
    expect(v.stats()).toMatchObject({ verifications: 1 });
    clock += 32_000;
    expect(await v.verify(t)).toEqual({ ok: false, reason: "expired" });
    expect(v.stats()).toMatchObject({ verifications: 2 });
  });

  test("a long-lived token is verified again after cacheMaxAgeMs", async () => {
    let clock = Date.now();
    const v = createTokenVerifier([issuer()], { now: () => clock, cacheMaxAgeMs: 1000 });
    const t = `Bearer ${await sign(keyA)}`;
    await v.verify(t);
    clock += 1001;
    expect((await v.verify(t)).ok).toBe(true);
    expect(v.stats()).toMatchObject({ verifications: 2, cacheHits: 0 });
  });

  test("the cache is bounded: the least recently used token goes first", async () => {
    const v = createTokenVerifier([issuer()], { cacheSize: 2 });
    const [t1, t2, t3] = await Promise.all(["u1", "u2", "u3"].map(async (sub) => `Bearer ${await sign(keyA, { sub })}`));
    await v.verify(t1);
    await v.verify(t2);
    await v.verify(t1); // t1 is now the most recent
    await v.verify(t3); // evicts t2
    expect(v.stats()).toMatchObject({ verifications: 3, cacheHits: 1, cached: 2 });
    await v.verify(t1);
    expect(v.stats()).toMatchObject({ verifications: 3, cacheHits: 2 });
    await v.verify(t2);
    expect(v.stats()).toMatchObject({ verifications: 4 });
  });
});

describe("a JWKS file", () => {
  test("is read again when it changes (checked at most every jwksFileCheckMs); a removed key's cached tokens are forgotten", async () => {
    const file = join(dir, "rotating.json");
    writeFileSync(file, jwks(keyA));
    let clock = Date.now();
    const v = createTokenVerifier([issuer({ jwksFile: file })], { jwksFileCheckMs: 2000, now: () => clock });
    const ta = `Bearer ${await sign(keyA)}`;
    const tb = `Bearer ${await sign(keyB)}`;
    expect((await v.verify(ta)).ok).toBe(true);
    // Rotation: the new key is added beside the old one (written whole, then renamed into place).
    writeFileSync(`${file}.tmp`, jwks(keyB, keyA));
    renameSync(`${file}.tmp`, file);
    expect(await v.verify(tb)).toEqual({ ok: false, reason: "unknown_key" });
    clock += 2000;
    expect((await v.verify(tb)).ok).toBe(true);
    expect((await v.verify(ta)).ok).toBe(true);
    // Retirement: the old key goes, and its token with it, cached or not.
    writeFileSync(`${file}.tmp`, jwks(keyB));
    renameSync(`${file}.tmp`, file);
    clock += 2000;
    expect((await v.verify(tb)).ok).toBe(true);
    expect(await v.verify(ta)).toEqual({ ok: false, reason: "unknown_key" });
  });

  test("a broken new version keeps the previous keys", async () => {
    const file = join(dir, "broken.json");
    writeFileSync(file, jwks(keyA));
    let clock = Date.now();
    const v = createTokenVerifier([issuer({ jwksFile: file })], { now: () => clock, cacheMaxAgeMs: 0 });
    const ta = `Bearer ${await sign(keyA)}`;
    expect((await v.verify(ta)).ok).toBe(true);
    writeFileSync(file, '{"keys": [');
    clock += 5000;
    expect((await v.verify(ta)).ok).toBe(true);
  });
});

describe("a remote JWKS", () => {
  let server: http.Server;
  let url: string;
  let served: TestKey[] = [];
  let requests = 0;
  let failing = false;
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      requests++;
      if (failing) {
        res.statusCode = 503;
        return void res.end();
      }
      res.setHeader("content-type", "application/json");
      res.end(jwks(...served));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    requests = 0;
    failing = false;
    served = [keyA];
  });

  test("is fetched once, then kept; an unknown kid causes one fetch, not one per call", async () => {
    const v = createTokenVerifier([issuer({ jwksFile: undefined, jwksUrl: url })], { jwksCooldownMs: 1000, cacheMaxAgeMs: 0 });
    const ta = `Bearer ${await sign(keyA)}`;
    for (let i = 0; i < 5; i++) expect((await v.verify(ta)).ok).toBe(true);
    expect(requests).toBe(1);
    // Within the cooldown after a fetch, an unknown kid fetches nothing.
    const tb = `Bearer ${await sign(keyB)}`;
    expect(await v.verify(tb)).toEqual({ ok: false, reason: "unknown_key" });
    expect(requests).toBe(1);
    await new Promise((r) => setTimeout(r, 1050));
    // After it: one fetch for twenty calls (sequential and concurrent) bearing the unknown kid.
    const outs = [await v.verify(tb), ...(await Promise.all(Array.from({ length: 9 }, () => v.verify(tb))))];
    for (let i = 0; i < 10; i++) outs.push(await v.verify(tb));
    expect(outs.every((o) => !o.ok && o.reason === "unknown_key")).toBe(true);
    expect(requests).toBe(2);
    // The issuer publishes key b: once the cooldown is over, the first call with it fetches, and it verifies.
    served = [keyB, keyA];
    await new Promise((r) => setTimeout(r, 1050));
    expect((await v.verify(tb)).ok).toBe(true);
    expect((await v.verify(tb)).ok).toBe(true);
    expect(requests).toBe(3);
  });

  test("keys that change on a refetch forget the issuer's cached tokens", async () => {
    const v = createTokenVerifier([issuer({ jwksFile: undefined, jwksUrl: url })], { jwksCooldownMs: 0 });
    const ta = `Bearer ${await sign(keyA)}`;
    await v.verify(ta);
    await v.verify(ta);
    expect(v.stats()).toMatchObject({ verifications: 1, cached: 1 });
    served = [keyB];
    // An unknown kid makes the verifier fetch the new keys; key a is gone, so is its cached token.
    expect((await v.verify(`Bearer ${await sign(keyB)}`)).ok).toBe(true);
    expect(await v.verify(ta)).toEqual({ ok: false, reason: "unknown_key" });
  });

  test("hot tokens do not keep a removed key alive: once the JWKS is older than jwksMaxAgeMs, a cache hit fetches it again", async () => {
    const v = createTokenVerifier([issuer({ jwksFile: undefined, jwksUrl: url })], { jwksMaxAgeMs: 200 });
    const ta = `Bearer ${await sign(keyA)}`;
    expect((await v.verify(ta)).ok).toBe(true);
    served = [keyB];
    await new Promise((r) => setTimeout(r, 250));
    // This hit answers from the cache and starts the fetch; the next call sees its outcome.
    expect((await v.verify(ta)).ok).toBe(true);
    const deadline = Date.now() + 5000;
    let out = await v.verify(ta);
    while (out.ok && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      out = await v.verify(ta);
    }
    expect(out).toEqual({ ok: false, reason: "unknown_key" });
    expect(requests).toBe(2);
  });

  test("an issuer whose JWKS cannot be fetched → keys_unavailable", async () => {
    failing = true;
    const v = createTokenVerifier([issuer({ jwksFile: undefined, jwksUrl: url })]);
    expect(await v.verify(`Bearer ${await sign(keyA)}`)).toMatchObject({ ok: false, reason: "keys_unavailable" });
  });
});
