import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, createContextValues, createRouterTransport, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from "jose";
import { ClusterService } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { StatusService } from "../../../gen/hyperfleet/v1/status_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { createRpcServer, type RpcServer } from "../rpc/serve.js";
import { createFastGrpcTransport } from "../rpc/grpc-client.js";
import { actorFrom, ANONYMOUS, AUTH_NONE_WARNING, checkAuthNone, createAuth, createJwtAuth, principalKey, principalOf, type AuthLog, type Authenticator } from "./interceptor.js";
import type { Role, RoleBindings } from "./roles.js";
import { bearerInterceptor, openLocalIssuer, staticToken, type LocalIssuer } from "./tokens.js";
import { createTokenVerifier } from "./verify.js";

let dir: string;
let issuer: LocalIssuer;
const bindings: RoleBindings = {
  identities: new Map<string, Role[]>([
    ["alice", ["user"]],
    ["rita", ["reader"]],
    ["dns", ["adapter:dns"]],
    ["olga", ["operator"]],
    ["gateway", ["user"]],
  ]),
  claims: new Map<string, Role[]>([["admins", ["operator"]]]),
};
const trustedProxies = ["gateway"];

/** What was logged: the reason goes there, never to the caller. */
function recordingLog(): AuthLog & { lines: { level: string; obj: Record<string, unknown>; msg: string }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  return { lines, info: (obj, msg) => lines.push({ level: "info", obj: obj as Record<string, unknown>, msg }), warn: (obj, msg) => lines.push({ level: "warn", obj: obj as Record<string, unknown>, msg }) };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hf-auth-"));
  issuer = await openLocalIssuer(join(dir, "issuer"), { issuer: "hyperfleet-local", audience: "hyperfleet" });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A token with any claims, signed by the local issuer's own key (its API issues only well-formed ones). */
async function signedByIssuer(claims: JWTPayload): Promise<string> {
  const [k] = JSON.parse(readFileSync(join(dir, "issuer", "signing-keys.json"), "utf8")) as { kid: string; privateJwk: JWK }[];
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: k.kid }).sign(await importJWK(k.privateJwk, "ES256"));
}

const rejection = async (p: Promise<unknown>) => ConnectError.from(await p.then(() => new Error("no error"), (e: unknown) => e));
const token = (sub: string, extra: { roles?: string[]; ttlSeconds?: number; audience?: string } = {}) => issuer.issue({ sub, ...extra });

/** The handlers of the tests: created_by is whoever actorFrom says. */
function routes(auth: Authenticator) {
  return (router: Parameters<Parameters<typeof createRpcServer>[0]["routes"]>[0]) => {
    router.service(ClusterService, {
      getCluster: (req, ctx) => ({ id: req.id, createdBy: principalOf(ctx.values)?.identity }),
      createCluster: (req, ctx) => ({ name: req.name, createdBy: actorFrom(ctx.values, ctx.requestHeader, auth.trustedProxies) }),
      forceDeleteCluster: () => ({ nodepoolsRemoved: 1n }),
    });
    router.service(StatusService, { reportStatus: () => ({ stored: true }) });
  };
}

describe("every failure reason is Unauthenticated, with a message that leaks nothing; the reason is logged", () => {
  const log = recordingLog();
  let client: ReturnType<typeof createClient<typeof ClusterService>>;
  beforeAll(() => {
    const auth = createJwtAuth({ verifier: createTokenVerifier([issuer.config()]), bindings, trustedProxies, log });
    client = createClient(ClusterService, createRouterTransport(routes(auth), { router: { interceptors: [auth.interceptor] } }));
  });

  const otherKey = async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    return { privateKey, jwk: await exportJWK(publicKey) };
  };
  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => Promise<string | undefined>, string, string][] = [
    ["missing", async () => undefined, "missing", "authentication required"],
    ["malformed", async () => "Bearer definitely-not-a-jwt", "malformed", "invalid credentials"],
    ["another scheme", async () => "Basic YWxpY2U6cHc=", "malformed", "invalid credentials"],
    [
      "bad signature",
      async () => {
        const { privateKey } = await otherKey();
        return `Bearer ${await new SignJWT({ sub: "olga" }).setProtectedHeader({ alg: "ES256", kid: issuer.keyIds()[0] }).setIssuer("hyperfleet-local").setAudience("hyperfleet").setExpirationTime(now() + 60).sign(privateKey)}`;
      },
      "bad_signature",
      "invalid credentials",
    ],
    [
      "unknown key",
      async () => {
        const { privateKey } = await otherKey();
        return `Bearer ${await new SignJWT({ sub: "olga" }).setProtectedHeader({ alg: "ES256", kid: "who-knows" }).setIssuer("hyperfleet-local").setAudience("hyperfleet").setExpirationTime(now() + 60).sign(privateKey)}`;
      },
      "unknown_key",
      "invalid credentials",
    ],
    ["expired", async () => `Bearer ${await token("alice", { ttlSeconds: -31 })}`, "expired", "invalid credentials"],
    ["not yet valid", async () => `Bearer ${await signedByIssuer({ sub: "alice", iss: "hyperfleet-local", aud: "hyperfleet", nbf: now() + 120, exp: now() + 600 })}`, "not_yet_valid", "invalid credentials"],
    ["wrong audience", async () => `Bearer ${await token("alice", { audience: "someone-else" })}`, "wrong_audience", "invalid credentials"],
    [
      "unknown issuer",
      async () => {
        const { privateKey } = await otherKey();
        return `Bearer ${await new SignJWT({ sub: "olga" }).setProtectedHeader({ alg: "ES256" }).setIssuer("https://evil.test").setAudience("hyperfleet").setExpirationTime(now() + 60).sign(privateKey)}`;
      },
      "unknown_issuer",
      "invalid credentials",
    ],
  ];
  test.each(cases)("%s", async (_name, header, reason, message) => {
    log.lines.length = 0;
    const h = await header();
    const err = await rejection(client.getCluster({ id: "c1" }, { headers: h ? { authorization: h } : {} }));
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.rawMessage).toBe(message);
    expect(log.lines).toEqual([{ level: "info", obj: { method: "hyperfleet.v1.ClusterService/GetCluster", reason }, msg: "call not authenticated" }]);
  });

  test("an issuer whose keys cannot be read is Unavailable (retry), not the caller's fault", async () => {
    const missing = createJwtAuth({ verifier: createTokenVerifier([{ ...issuer.config(), jwksFile: join(dir, "absent.json") }]), bindings, log });
    const c = createClient(ClusterService, createRouterTransport(routes(missing), { router: { interceptors: [missing.interceptor] } }));
    const err = await rejection(c.getCluster({ id: "c1" }, { headers: { authorization: `Bearer ${await token("alice")}` } }));
    expect([err.code, err.rawMessage]).toEqual([Code.Unavailable, "authentication is temporarily unavailable; retry later"]);
  });

  test("a verified identity without the role is PermissionDenied, logged with who and why", async () => {
    log.lines.length = 0;
    const err = await rejection(client.forceDeleteCluster({ id: "c1", reason: "x" }, { headers: { authorization: `Bearer ${await token("rita")}` } }));
    expect([err.code, err.rawMessage]).toEqual([Code.PermissionDenied, "permission denied for hyperfleet.v1.ClusterService/ForceDeleteCluster"]);
    expect(log.lines).toEqual([{ level: "info", obj: { method: "hyperfleet.v1.ClusterService/ForceDeleteCluster", identity: "rita", reason: "role_missing" }, msg: "call not authorised" }]);
  });

  test("roles from the token's roles claim count through the claim bindings", async () => {
    const r = await client.forceDeleteCluster({ id: "c1", reason: "x" }, { headers: { authorization: `Bearer ${await token("nobody-bound", { roles: ["admins"] })}` } });
    expect(r.nodepoolsRemoved).toBe(1n);
  });
});

describe("actorFrom: who made a change", () => {
  const values = (identity?: string) => {
    const v = createContextValues();
    if (identity) v.set(principalKey, { identity, issuer: "t", roles: [] });
    return v;
  };
  test.each<[string, string | undefined, Record<string, string>, string]>([
    ["the caller's own identity", "alice", {}, "alice"],
    ["a forged header from anyone else changes nothing", "alice", { "x-hyperfleet-user": "olga" }, "alice"],
    ["a trusted proxy names the user it acts for", "gateway", { "x-hyperfleet-user": " bob " }, "bob"],
    ["a trusted proxy without the header is itself", "gateway", {}, "gateway"],
    ["the header is cut at 256 characters", "gateway", { "x-hyperfleet-user": "b".repeat(300) }, "b".repeat(256)],
    ["no principal (an open method) is anonymous", undefined, { "x-hyperfleet-user": "olga" }, "anonymous"],
  ])("%s", (_name, identity, headers, actor) => expect(actorFrom(values(identity), new Headers(headers), trustedProxies)).toBe(actor));
});

describe("AUTH=none", () => {
  test.each([
    ["0.0.0.0", false],
    ["::", false],
    ["10.1.2.3", false],
    ["127.0.0.1", true],
    ["::1", true],
    ["localhost", true],
  ])("listening on %s: allowed = %s", (host, ok) => {
    const r = checkAuthNone(host);
    expect("ok" in r).toBe(ok);
    if (!ok) expect("error" in r && r.error).toMatch(`AUTH=none is refused: the server listens on "${host}"`);
  });

  test("createAuth refuses it off loopback; on loopback it warns once, loudly, and every call is an anonymous operator", async () => {
    expect(createAuth({ mode: "none" }, { host: "0.0.0.0" })).toEqual({ error: expect.stringContaining("AUTH=none is refused") });
    const log = recordingLog();
    const made = createAuth({ mode: "none" }, { host: "127.0.0.1", log });
    expect(log.lines).toEqual([{ level: "warn", obj: { auth: "none" }, msg: AUTH_NONE_WARNING }]);
    const auth = "value" in made ? made.value : undefined;
    const c = createClient(ClusterService, createRouterTransport(routes(auth!), { router: { interceptors: [auth!.interceptor] } }));
    expect((await c.getCluster({ id: "x" })).createdBy).toBe(ANONYMOUS.identity);
    expect((await c.forceDeleteCluster({ id: "x", reason: "r" })).nodepoolsRemoved).toBe(1n);
  });
});

/**
 * The interceptor installed in createRpcServer, with and without the request gate, on every protocol:
 * unary gRPC on the fast path, Connect JSON over HTTP/1.1, gRPC-Web over HTTP/2 (connect-node), and
 * the streaming reflection call.
 */
describe.each([
  ["interceptor only", false],
  ["interceptor and request gate", true],
])("createRpcServer with the %s", (_name, withGate) => {
  let server: RpcServer;
  let url: string;
  const log = recordingLog();
  let auth: Authenticator;
  beforeAll(async () => {
    auth = createJwtAuth({ verifier: createTokenVerifier([issuer.config()]), bindings, trustedProxies, log });
    server = createRpcServer({ services: [ClusterService, StatusService], routes: routes(auth), interceptors: [auth.interceptor], requestGate: withGate ? auth.requestGate : undefined });
    url = `http://127.0.0.1:${await server.listen(0, "127.0.0.1")}`;
  });
  afterAll(() => server.close(100));

  const protocols: [string, (interceptors: Interceptor[]) => Transport][] = [
    ["gRPC (fast path)", (interceptors) => createGrpcTransport({ baseUrl: url, interceptors })],
    ["Connect JSON over HTTP/1.1", (interceptors) => createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors })],
    ["gRPC-Web over HTTP/2", (interceptors) => createGrpcWebTransport({ baseUrl: url, httpVersion: "2", interceptors })],
  ];

  describe.each(protocols)("%s", (protocol, transport) => {
    const as = async (sub?: string, extra: { ttlSeconds?: number; audience?: string } = {}) => {
      const t = sub === undefined ? [] : [bearerInterceptor(staticToken(await token(sub, extra)))];
      return { clusters: createClient(ClusterService, transport(t)), statuses: createClient(StatusService, transport(t)), health: createClient(Health, transport(t)) };
    };

    test("no token, an expired one, one for another audience → Unauthenticated", async () => {
      for (const [c, message] of [
        [await as(), "authentication required"],
        [await as("alice", { ttlSeconds: -60 }), "invalid credentials"],
        [await as("alice", { audience: "other" }), "invalid credentials"],
      ] as const) {
        const err = await rejection(c.clusters.getCluster({ id: "c1" }));
        expect([err.code, err.rawMessage]).toEqual([Code.Unauthenticated, message]);
      }
    });

    test("health needs no credentials", async () => {
      expect((await (await as()).health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    });

    test("a reader reads, but may not create; created_by is the token's identity and a forged header changes nothing", async () => {
      const header: Headers[] = [];
      const rita = await as("rita");
      expect((await rita.clusters.getCluster({ id: "c1" }, { onHeader: (h) => header.push(h) })).createdBy).toBe("rita");
      // The fast path answers application/grpc, connect-node's gRPC application/grpc+proto.
      if (protocol.startsWith("gRPC (fast")) expect(header[0].get("content-type")).toBe("application/grpc");
      expect((await rejection(rita.clusters.createCluster({ name: "x" }))).code).toBe(Code.PermissionDenied);
      const alice = await as("alice");
      expect((await alice.clusters.createCluster({ name: "x" }, { headers: { "x-hyperfleet-user": "olga" } })).createdBy).toBe("alice");
      expect((await (await as("gateway")).clusters.createCluster({ name: "x" }, { headers: { "x-hyperfleet-user": "bob" } })).createdBy).toBe("bob");
    });

    test("ForceDelete needs operator; adapter:dns reports as dns but not as placement", async () => {
      expect((await rejection((await as("alice")).clusters.forceDeleteCluster({ id: "c1", reason: "r" }))).code).toBe(Code.PermissionDenied);
      expect((await (await as("olga")).clusters.forceDeleteCluster({ id: "c1", reason: "r" })).nodepoolsRemoved).toBe(1n);
      const dns = await as("dns");
      expect((await dns.statuses.reportStatus({ resourceId: "c1", adapter: "dns", observedGeneration: 1n })).stored).toBe(true);
      const err = await rejection(dns.statuses.reportStatus({ resourceId: "c1", adapter: "placement", observedGeneration: 1n }));
      expect([err.code, err.rawMessage]).toEqual([Code.PermissionDenied, "permission denied: an adapter reports only under its own name"]);
    });
  });

  test("the services' own client (createFastGrpcTransport with a bearer token) is authenticated", async () => {
    const t = createFastGrpcTransport({ baseUrl: url, interceptors: [bearerInterceptor(staticToken(await token("rita")))] });
    try {
      expect((await createClient(ClusterService, t).getCluster({ id: "c9" })).createdBy).toBe("rita");
    } finally {
      t.close();
    }
  });

  test("reflection (a streaming call) needs an identity, no role", async () => {
    const list = async (interceptors: Interceptor[]) => {
      const names: string[] = [];
      const requests = (async function* () {
        yield { messageRequest: { case: "listServices" as const, value: "" } };
      })();
      for await (const r of createClient(ServerReflection, createGrpcTransport({ baseUrl: url, interceptors })).serverReflectionInfo(requests)) {
        if (r.messageResponse.case === "listServicesResponse") names.push(...r.messageResponse.value.service.map((s) => s.name));
      }
      return names;
    };
    expect((await rejection(list([]))).code).toBe(Code.Unauthenticated);
    expect(await list([bearerInterceptor(staticToken(await token("no-roles-at-all")))])).toContain("hyperfleet.v1.ClusterService");
  });
});
