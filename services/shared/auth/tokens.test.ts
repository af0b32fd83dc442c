import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { ClusterService } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { bearerInterceptor, fileTokenSource, openLocalIssuer, staticToken } from "./tokens.js";
import { createTokenVerifier } from "./verify.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hf-tokens-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("fileTokenSource", () => {
  test("re-reads the file after it changes, looking at most every checkMs; a missing file keeps the last token", () => {
    const path = join(dir, "token");
    writeFileSync(path, "first\n");
    let clock = 0;
    const src = fileTokenSource(path, { checkMs: 1000, now: () => clock });
    expect(src.current()).toBe("first");
    writeFileSync(path, "second-token");
    clock = 999;
    expect(src.current()).toBe("first");
    clock = 1000;
    expect(src.current()).toBe("second-token");
    // The kubelet swaps the file: a moment without it (or an empty one) changes nothing.
    unlinkSync(path);
    clock = 2000;
    expect(src.current()).toBe("second-token");
    writeFileSync(path, "");
    clock = 3000;
    expect(src.current()).toBe("second-token");
    writeFileSync(path, "third");
    clock = 4000;
    expect(src.current()).toBe("third");
  });

  test.each([
    ["a missing file", false],
    ["an empty file", true],
  ])("%s at startup is an error naming the file", (_name, create) => {
    const path = join(dir, "token");
    if (create) writeFileSync(path, " \n");
    expect(() => fileTokenSource(path)).toThrow(path);
  });
});

test("bearerInterceptor puts the source's current token on every call", async () => {
  const seen: (string | null)[] = [];
  let token = "t1";
  const transport = createRouterTransport(
    (router) =>
      router.service(ClusterService, {
        getCluster(_req, ctx) {
          seen.push(ctx.requestHeader.get("authorization"));
          return {};
        },
      }),
    { transport: { interceptors: [bearerInterceptor({ current: () => token })] } },
  );
  const client = createClient(ClusterService, transport);
  await client.getCluster({ id: "a" });
  token = "t2";
  await client.getCluster({ id: "a" });
  expect(seen).toEqual(["Bearer t1", "Bearer t2"]);
  expect(staticToken("x").current()).toBe("x");
});

describe("openLocalIssuer", () => {
  test("creates a key (private file 0600) and a JWKS; its tokens verify with its config, roles claim included", async () => {
    const issuer = await openLocalIssuer(join(dir, "keys"), { issuer: "hyperfleet-local", audience: "hyperfleet" });
    expect(statSync(join(dir, "keys", "signing-keys.json")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "keys")).mode & 0o777).toBe(0o700);
    const jwks = JSON.parse(readFileSync(issuer.jwksFile, "utf8")) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    // Only public material in the JWKS.
    expect(jwks.keys[0]).not.toHaveProperty("d");
    expect(jwks.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig", kid: issuer.keyIds()[0] });

    const token = await issuer.issue({ sub: "hyperfleet:adapter:dns", roles: ["adapter:dns"], ttlSeconds: 600 });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: "hyperfleet-local", aud: "hyperfleet", sub: "hyperfleet:adapter:dns", roles: ["adapter:dns"] });
    expect(claims.exp! - claims.iat!).toBe(600);
    const v = createTokenVerifier([issuer.config()]);
    expect(await v.verify(`Bearer ${token}`)).toMatchObject({ ok: true, token: { identity: "hyperfleet:adapter:dns", issuer: "hyperfleet-local", claimRoles: ["adapter:dns"] } });
  });

  test("opening the directory again keeps the key: tokens issued before still verify", async () => {
    const first = await openLocalIssuer(dir);
    const token = await first.issue({ sub: "me" });
    const again = await openLocalIssuer(dir);
    expect(again.keyIds()).toEqual(first.keyIds());
    expect((await createTokenVerifier([again.config()]).verify(`Bearer ${token}`)).ok).toBe(true);
    expect((await createTokenVerifier([first.config()]).verify(`Bearer ${await again.issue({ sub: "me" })}`)).ok).toBe(true);
  });

  test("rotation: a second key signs while the first is still accepted; once retired, the first key's tokens are refused", async () => {
    const issuer = await openLocalIssuer(dir);
    const old = `Bearer ${await issuer.issue({ sub: "me" })}`;
    const [oldKid] = issuer.keyIds();
    await issuer.rotate();
    expect(issuer.keyIds()).toHaveLength(2);
    expect(issuer.keyIds()[1]).toBe(oldKid);
    const fresh = `Bearer ${await issuer.issue({ sub: "me" })}`;
    expect(JSON.parse(Buffer.from(fresh.split(".")[0].slice(7), "base64url").toString()).kid).toBe(issuer.keyIds()[0]);

    let clock = Date.now();
    const v = createTokenVerifier([issuer.config()], { now: () => clock, jwksFileCheckMs: 1000 });
    expect(await v.verify(old)).toMatchObject({ ok: true });
    expect(await v.verify(fresh)).toMatchObject({ ok: true });
    await issuer.retire();
    expect(issuer.keyIds()).toEqual([issuer.keyIds()[0]]);
    // A running verifier sees the JWKS change at its next check, and forgets the retired key's tokens.
    clock += 1000;
    expect(await v.verify(old)).toEqual({ ok: false, reason: "unknown_key" });
    expect(await v.verify(fresh)).toMatchObject({ ok: true });
    // The retirement is stored: a reopened issuer has one key.
    expect((await openLocalIssuer(dir)).keyIds()).toHaveLength(1);
  });
});
