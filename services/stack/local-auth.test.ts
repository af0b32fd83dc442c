import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { authConfig, createTokenVerifier, resolveRoles } from "../shared/auth/index.js";
import { openLocalAuth } from "./local-auth.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hf-local-auth-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 24 * 3600_000;

/** What a service started by npm start concludes from a token: its identity and roles, or why not. */
async function check(configFile: string, token: string, now = Date.now) {
  const config = authConfig({ AUTH_CONFIG: configFile });
  if (!("value" in config) || config.value.mode !== "jwt") throw new Error(JSON.stringify(config));
  const out = await createTokenVerifier(config.value.issuers, { now }).verify(`Bearer ${token}`);
  return out.ok ? { identity: out.token.identity, roles: resolveRoles(out.token.identity, out.token.claimRoles, config.value.bindings) } : { refused: out.reason };
}

test("npm start's bootstrap: every service and the user get a token that the services' own auth configuration accepts, each with its least privilege; secrets are 0600", async () => {
  const auth = await openLocalAuth(dir, ["validation", "dns"], "user:alice");
  const token = (name: string) => readFileSync(auth.tokenFile(name), "utf8").trim();
  expect(await check(auth.configFile, token("sentinel"))).toEqual({ identity: "hyperfleet:sentinel", roles: ["sentinel"] });
  expect(await check(auth.configFile, token("adapter-dns"))).toEqual({ identity: "hyperfleet:adapter:dns", roles: ["adapter:dns"] });
  expect(await check(auth.configFile, token("user"))).toEqual({ identity: "user:alice", roles: ["operator"] });
  for (const f of [auth.tokenFile("user"), join(dir, "keys", "signing-keys.json")]) expect(statSync(f).mode & 0o777).toBe(0o600);
});

test("a second start reuses the key: tokens from the first stay valid", async () => {
  const first = await openLocalAuth(dir, ["dns"], "user:alice");
  const old = readFileSync(first.tokenFile("user"), "utf8").trim();
  const second = await openLocalAuth(dir, ["dns"], "user:alice");
  expect(second.issuer.keyIds()).toEqual(first.issuer.keyIds());
  expect(await check(second.configFile, old)).toMatchObject({ identity: "user:alice" });
});

test("rotation: a key older than 30 days is replaced at start, its tokens accepted until they have all expired, then it is retired", async () => {
  const first = await openLocalAuth(dir, ["dns"], "user:alice");
  const old = readFileSync(first.tokenFile("user"), "utf8").trim();
  const [oldKid] = first.issuer.keyIds();
  let t = Date.now() + 31 * DAY;
  const later = await openLocalAuth(dir, ["dns"], "user:alice", { now: () => t });
  expect(later.issuer.keyIds()).toEqual([expect.not.stringMatching(oldKid), oldKid]);
  // The old key still verifies (its token is judged at the time it was still valid).
  expect(await check(later.configFile, old)).toMatchObject({ identity: "user:alice" });
  t += 13 * 3600_000; // past the longest lifetime of a token the old key signed
  await later.renew();
  expect(later.issuer.keyIds()).toHaveLength(1);
  expect(await check(later.configFile, old)).toEqual({ refused: "unknown_key" });
  expect(await check(later.configFile, readFileSync(later.tokenFile("user"), "utf8").trim(), () => t)).toMatchObject({ identity: "user:alice" });
});

test("--rotate-keys (a key that may have leaked): the old key's tokens are refused at once, new tokens work", async () => {
  const first = await openLocalAuth(dir, ["dns"], "user:alice");
  const old = readFileSync(first.tokenFile("user"), "utf8").trim();
  const rotated = await openLocalAuth(dir, ["dns"], "user:alice", { rotation: "now" });
  expect(rotated.issuer.keyIds()).toHaveLength(1);
  expect(await check(rotated.configFile, old)).toEqual({ refused: "unknown_key" });
  expect(await check(rotated.configFile, readFileSync(rotated.tokenFile("user"), "utf8").trim())).toMatchObject({ identity: "user:alice" });
});
