/**
 * Every RPC of every server × every kind of credential, against real servers (issue 18): the API
 * (startApi({ auth: true })), a Sentinel and an adapter, each with the test issuer's authenticator.
 * The method list comes from the generated service descriptors, each server's own reflection says it
 * serves no service beyond them, and every method must have a row in PERMISSIONS: a new RPC cannot
 * slip through unchecked. Every method is called over gRPC (unary calls take the fast path, streams
 * connect-node); a few are also called over Connect JSON (HTTP/1.1) and gRPC-Web, which connect-node
 * serves, so that the interceptor and request gate are seen to cover every protocol.
 */
import { create, type DescMessage, type DescMethod, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { generateKeyPair, SignJWT } from "jose";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { AdapterService } from "../../../gen/hyperfleet/v1/adapter_pb.js";
import { ClusterService } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { ConditionStatus } from "../../../gen/hyperfleet/v1/condition_pb.js";
import { NodePoolService } from "../../../gen/hyperfleet/v1/nodepool_pb.js";
import { SentinelService } from "../../../gen/hyperfleet/v1/sentinel_pb.js";
import { StatusService } from "../../../gen/hyperfleet/v1/status_pb.js";
import { createServer as createAdapterServer } from "../../adapter/server.js";
import { loadAdapterConfig } from "../../adapter/adapter-config.js";
import { createKubeObjects } from "../../adapter/kube.js";
import { createServer as createSentinelServer } from "../../sentinel/server.js";
import type { ResourceLister } from "../../sentinel/resource-lister.js";
import type { Broker } from "../broker/index.js";
import { createApiClient } from "../api-client.js";
import { silentLogger } from "../log.js";
import type { RpcServer } from "../rpc/index.js";
import { startApi, type TestApi } from "../../../test/support/start-api.js";
import { TEST_IDENTITIES } from "../../../test/support/test-issuer.js";
import { PERMISSIONS, type Access } from "./index.js";
import type { RoleKind } from "./roles.js";

const REFLECTION = [reflectionV1.ServerReflection, reflectionV1alpha.ServerReflection];
/** What each server serves besides health and reflection. */
const OWN: Record<ServerName, DescService[]> = {
  api: [ClusterService, NodePoolService, StatusService],
  sentinel: [SentinelService],
  adapter: [AdapterService],
};
type ServerName = "api" | "sentinel" | "adapter";
const SERVERS: ServerName[] = ["api", "sentinel", "adapter"];
const servicesOf = (s: ServerName) => [...OWN[s], Health, ...REFLECTION];
const ALL_SERVICES = [...new Set(SERVERS.flatMap(servicesOf))];
const fqn = (svc: DescService, m: DescMethod) => `${svc.typeName}/${m.name}`;

/** The credential columns: what the caller sends. */
const CREDENTIALS = ["none", "bad-signature", "expired", "wrong-audience", "wrong-role", "right-role"] as const;
type Credential = (typeof CREDENTIALS)[number];
const UNAUTHENTICATED_CASES: Credential[] = ["none", "bad-signature", "expired", "wrong-audience"];

const kindOf = (role: string): RoleKind => (role.startsWith("adapter:") ? "adapter" : (role as RoleKind));
/** Least privileged first: the right-role caller is the weakest identity the method allows. */
const WEAKEST_FIRST = ["test:reader", "test:sentinel", "test:adapter-validation", "test:user", "test:operator"];
/** Most privileged first: the wrong-role caller is the strongest identity the method still refuses. */
const STRONGEST_FIRST = ["test:operator", "test:user", "test:sentinel", "test:adapter-validation", "test:reader", "test:nobody"];
const allows = (access: Access, identity: string) => access.kind !== "roles" || TEST_IDENTITIES[identity].some((r) => access.roles.includes(kindOf(r)));

/** Who calls a method in the wrong-role and right-role columns, from its PERMISSIONS row. */
function callersOf(access: Access): { wrong: string; right: string } {
  // Open and authenticated-only methods have no wrong role: test:nobody (no role at all) must get through.
  if (access.kind !== "roles") return { wrong: "test:nobody", right: "test:reader" };
  const wrong = STRONGEST_FIRST.find((id) => !allows(access, id));
  const right = WEAKEST_FIRST.find((id) => allows(access, id));
  if (!wrong || !right) throw new Error(`no test identity is refused/allowed by ${JSON.stringify(access)}`);
  return { wrong, right };
}

/** Allowed: anything but the two refusals (the handler may then fail on the empty request). */
type Expect = "Unauthenticated" | "PermissionDenied" | "allowed";
function expected(access: Access, credential: Credential): Expect {
  if (access.kind === "open") return "allowed";
  if (UNAUTHENTICATED_CASES.includes(credential)) return "Unauthenticated";
  if (credential === "wrong-role" && access.kind === "roles") return "PermissionDenied";
  return "allowed";
}
const meets = (outcome: string, e: Expect) => (e === "allowed" ? outcome !== "Unauthenticated" && outcome !== "PermissionDenied" : outcome === e);

/** A request the right role passes authorisation with: ReportStatus names the reporting adapter (test:adapter-validation). */
function requestFor(m: DescMethod): MessageInitShape<DescMessage> {
  if (m.parent.typeName === StatusService.typeName && m.name === "ReportStatus") return { adapter: "validation" };
  if (m.parent.typeName === ClusterService.typeName && m.name === "GetCluster") return { id: "00000000-0000-7000-8000-000000000000" };
  return {};
}

let api: TestApi;
let sentinel: RpcServer;
let adapter: RpcServer;
const urls = {} as Record<ServerName, string>;
/** The authorization header value of each credential kind other than the role ones. */
const bad = {} as Record<"bad-signature" | "expired" | "wrong-audience", string>;
const tokens = new Map<string, string>();

beforeAll(async () => {
  api = await startApi({ auth: true });
  urls.api = api.baseUrl;
  const issuer = api.issuer!;

  const lister: ResourceLister = {
    listPage: async () => Promise.reject(new ConnectError("not in this test", Code.Unimplemented)),
    get: async () => Promise.reject(new ConnectError("not in this test", Code.NotFound)),
  };
  const broker = {
    publish: async () => Promise.reject(new Error("no broker in this test")),
    provision: async () => Promise.reject(new Error("no broker in this test")),
  } as unknown as Broker;
  sentinel = createSentinelServer({
    lister,
    broker,
    log: silentLogger(),
    auth: issuer.authenticator(),
    config: { pollIntervalMs: 60_000, maxAgeNotReadyMs: 60_000, maxAgeReadyMs: 60_000, pageSize: 10, topic: "rpc-matrix", selector: [], kind: "clusters", labelSelector: "" },
  }).server;
  urls.sentinel = `http://127.0.0.1:${await sentinel.listen(0, "127.0.0.1")}`;

  adapter = createAdapterServer({
    plan: loadAdapterConfig("services/adapter/configs/dns.yaml"),
    // Nothing listens there: a DryRun that gets past authorisation fails with a non-auth code.
    api: createApiClient("http://127.0.0.1:1", { timeoutMs: 500 }),
    kube: createKubeObjects({ kind: "url", url: "http://127.0.0.1:1" }, 500),
    subscription: "rpc-matrix",
    log: silentLogger(),
    auth: issuer.authenticator(),
  }).server;
  urls.adapter = `http://127.0.0.1:${await adapter.listen(0, "127.0.0.1")}`;

  for (const id of Object.keys(TEST_IDENTITIES)) tokens.set(id, await issuer.token(id));
  // Each bad credential would be the operator's if it were accepted: a hole would show as success.
  bad.expired = await issuer.token("test:operator", { ttlSeconds: -3600 });
  bad["wrong-audience"] = await issuer.token("test:operator", { audience: "someone-else" });
  bad["bad-signature"] = await forgedToken("test:operator");
}, 60_000);

afterAll(async () => {
  await sentinel?.close(100);
  await adapter?.close(100);
  await api?.close();
});

/**
 * A token with the issuer's iss, audience and the kid of its signing key, but signed with another
 * key: only the signature is wrong.
 */
async function forgedToken(sub: string): Promise<string> {
  const issuer = api.issuer!.issuer;
  const { privateKey } = await generateKeyPair("ES256");
  return new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: issuer.keyIds()[0], typ: "JWT" })
    .setIssuer(issuer.issuer)
    .setAudience(issuer.audience)
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(privateKey);
}

function authorizationOf(credential: Credential, callers: { wrong: string; right: string }): string | undefined {
  if (credential === "none") return undefined;
  if (credential === "wrong-role") return `Bearer ${tokens.get(callers.wrong)}`;
  if (credential === "right-role") return `Bearer ${tokens.get(callers.right)}`;
  return `Bearer ${bad[credential]}`;
}

type Protocol = "grpc" | "connect-json-h1" | "grpc-web-h1" | "connect-h2" | "grpc-web-h2";
const transports = new Map<string, Transport>();
function transportFor(server: ServerName, protocol: Protocol): Transport {
  const key = `${server}:${protocol}`;
  let t = transports.get(key);
  if (!t) {
    const baseUrl = urls[server];
    t =
      protocol === "grpc"
        ? createGrpcTransport({ baseUrl })
        : protocol === "connect-json-h1"
          ? createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false })
          : protocol === "connect-h2"
            ? createConnectTransport({ baseUrl, httpVersion: "2" })
            : createGrpcWebTransport({ baseUrl, httpVersion: protocol === "grpc-web-h1" ? "1.1" : "2" });
    transports.set(key, t);
  }
  return t;
}

/** Calls `m` once and tells how it ended: "OK" or the error's code name. Streams end after their first response. */
async function call(server: ServerName, protocol: Protocol, svc: DescService, m: DescMethod, authorization: string | undefined, headers: Record<string, string> = {}): Promise<{ outcome: string; error?: ConnectError }> {
  const client = createClient(svc, transportFor(server, protocol)) as unknown as Record<string, (...a: unknown[]) => unknown>;
  const abort = new AbortController();
  const opts = { headers: { ...headers, ...(authorization ? { authorization } : {}) }, timeoutMs: 5000, signal: abort.signal };
  try {
    if (m.methodKind === "unary") {
      await client[m.localName](requestFor(m), opts);
    } else if (m.methodKind === "server_streaming") {
      for await (const _ of client[m.localName](requestFor(m), opts) as AsyncIterable<unknown>) break;
    } else if (m.methodKind === "bidi_streaming") {
      async function* one() {
        yield { host: "", messageRequest: { case: "listServices", value: "" } };
      }
      for await (const _ of client[m.localName](one(), opts) as AsyncIterable<unknown>) break;
    } else {
      throw new Error(`${fqn(svc, m)}: no caller for ${m.methodKind} methods in this test`);
    }
    return { outcome: "OK" };
  } catch (err) {
    const e = ConnectError.from(err);
    return { outcome: Code[e.code], error: e };
  } finally {
    abort.abort();
  }
}

const SHORT: Record<string, string> = { Unauthenticated: "Unauth", PermissionDenied: "Denied", InvalidArgument: "InvalidArg", FailedPrecondition: "FailedPrecond" };
const short = (outcome: string) => SHORT[outcome] ?? outcome;

interface Row {
  label: string;
  access: string;
  callers: { wrong: string; right: string };
  outcomes: Record<Credential, string>;
}

function table(title: string, rows: Row[]): string {
  const head = ["method", "access", ...CREDENTIALS];
  const lines = rows.map((r) => [
    r.label,
    r.access,
    ...CREDENTIALS.map((c) => {
      const o = short(r.outcomes[c]);
      if (c === "wrong-role") return `${o} (${r.callers.wrong.replace("test:", "")})`;
      if (c === "right-role") return `${o} (${r.callers.right.replace("test:", "")})`;
      return o;
    }),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [title, fmt(head), ...lines.map(fmt)].join("\n");
}

const accessLabel = (a: Access) => (a.kind === "roles" ? a.roles.join("|") + (a.ownAdapter ? " (own)" : "") : a.kind);

/** Runs the six credentials against each method and checks every outcome; returns the rows. */
async function matrix(entries: { server: ServerName; svc: DescService; m: DescMethod }[], protocol: Protocol): Promise<{ rows: Row[]; wrong: string[] }> {
  const rows: Row[] = [];
  const wrong: string[] = [];
  for (const { server, svc, m } of entries) {
    const method = fqn(svc, m);
    const access = PERMISSIONS.get(method)!;
    const callers = callersOf(access);
    const outcomes = {} as Record<Credential, string>;
    for (const credential of CREDENTIALS) {
      const { outcome } = await call(server, protocol, svc, m, authorizationOf(credential, callers));
      outcomes[credential] = outcome;
      const e = expected(access, credential);
      if (!meets(outcome, e)) wrong.push(`${server} ${method} ${credential}: expected ${e}, got ${outcome}`);
    }
    rows.push({ label: `${server} ${method}`, access: accessLabel(access), callers, outcomes });
  }
  return { rows, wrong };
}

const everyMethod = () =>
  SERVERS.flatMap((server) => servicesOf(server).flatMap((svc) => svc.methods.map((m) => ({ server, svc, m }))))
    // Health and reflection are the same code on every port: the API's rows are printed first, the others follow.
    .sort((a, b) => SERVERS.indexOf(a.server) - SERVERS.indexOf(b.server));

test("every method of every generated service has a row in PERMISSIONS, and PERMISSIONS names no method that does not exist", () => {
  const methods = ALL_SERVICES.flatMap((svc) => svc.methods.map((m) => fqn(svc, m)));
  expect(methods.filter((m) => !PERMISSIONS.has(m))).toEqual([]);
  expect([...PERMISSIONS.keys()].filter((m) => !methods.includes(m))).toEqual([]);
});

test.each(SERVERS)("the %s server serves no service beyond those this matrix covers (its own reflection says so)", async (server) => {
  const svc = reflectionV1.ServerReflection;
  const client = createClient(svc, transportFor(server, "grpc"));
  async function* one() {
    yield create(reflectionV1.ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } });
  }
  const names: string[] = [];
  for await (const r of client.serverReflectionInfo(one(), { headers: { authorization: `Bearer ${tokens.get("test:nobody")}` } })) {
    if (r.messageResponse.case === "listServicesResponse") names.push(...r.messageResponse.value.service.map((s) => s.name));
  }
  expect(names.sort()).toEqual(servicesOf(server).map((s) => s.typeName).sort());
});

test("gRPC: every method × {no token, bad signature, expired, wrong audience, wrong role, right role}", async () => {
  const { rows, wrong } = await matrix(everyMethod(), "grpc");
  console.log(table("gRPC (HTTP/2; unary on the fast path, streams through connect-node)", rows));
  expect(rows.length).toBe(everyMethod().length);
  expect(wrong).toEqual([]);
}, 60_000);

/** A few methods of each access kind and each server, over the protocols connect-node serves. */
const SPOT: [ServerName, DescService, string][] = [
  ["api", ClusterService, "GetCluster"],
  ["api", ClusterService, "CreateCluster"],
  ["api", ClusterService, "ForceDeleteCluster"],
  ["api", StatusService, "ReportStatus"],
  ["api", Health, "Check"],
  ["api", Health, "Watch"],
  ["sentinel", SentinelService, "GetStatus"],
  ["sentinel", SentinelService, "Reconcile"],
  ["adapter", AdapterService, "DryRun"],
];
const spot = () => SPOT.map(([server, svc, name]) => ({ server, svc, m: svc.methods.find((m) => m.name === name)! }));

/**
 * Over HTTP/1.1, connect-node console.error's a stack trace when a client leaves a health Watch (it
 * writes to the closed response): that is the test closing the stream after its first message, not
 * an auth outcome. Those lines are counted instead of printed; anything else passes through.
 */
async function quietWatchHangups<T>(f: () => Promise<T>): Promise<{ value: T; hangups: number }> {
  const original = console.error;
  let hangups = 0;
  console.error = (...args: unknown[]) => {
    if (/^handler for rpc Watch of grpc\.health\.v1\.Health failed/.test(String(args[0])) && /ERR_STREAM_DESTROYED/.test(String(args[1]))) hangups++;
    else original(...args);
  };
  try {
    return { value: await f(), hangups };
  } finally {
    console.error = original;
  }
}

test.each<Protocol>(["connect-json-h1", "grpc-web-h1"])("%s: the same outcomes for a spot check of methods", async (protocol) => {
  const { value: { rows, wrong }, hangups } = await quietWatchHangups(() => matrix(spot(), protocol));
  console.log(`${table(protocol, rows)}\n(connect-node logged ${hangups} Watch hang-ups)`);
  expect(wrong).toEqual([]);
  // The same answers as over gRPC.
  const grpc = await matrix(spot(), "grpc");
  expect(rows.map((r) => r.outcomes)).toEqual(grpc.rows.map((r) => r.outcomes));
}, 60_000);

test.each<Protocol>(["connect-h2", "grpc-web-h2"])("%s: reflection (a bidi stream) needs an identity there too", async (protocol) => {
  const entries = SERVERS.flatMap((server) => REFLECTION.map((svc) => ({ server, svc, m: svc.methods[0] })));
  const { rows, wrong } = await matrix(entries, protocol);
  console.log(table(protocol, rows));
  expect(wrong).toEqual([]);
}, 60_000);

describe("specific rules", () => {
  const grpcClient = <S extends DescService>(svc: S, identity: string, headers: Record<string, string> = {}, protocol: Protocol = "grpc") => {
    const client = createClient(svc, transportFor("api", protocol));
    const h = { ...headers, authorization: `Bearer ${tokens.get(identity)}` };
    return { client, opts: { headers: h, timeoutMs: 5000 } };
  };
  const codeOf = async (p: Promise<unknown>) =>
    p.then(
      () => "OK",
      (e) => Code[ConnectError.from(e).code],
    );

  async function cluster(name: string) {
    return api.clusters.createCluster({ name, spec: { region: "eu" } });
  }
  const report = (resourceId: string, adapter: string) => ({
    resourceId,
    adapter,
    observedGeneration: 1n,
    observedTime: timestampFromDate(new Date()),
    conditions: ["Applied", "Available", "Health"].map((type) => ({ type, status: ConditionStatus.TRUE })),
  });

  test("an adapter reports only under its own name: adapter:dns as validation is PermissionDenied, as dns it is stored", async () => {
    const c = await cluster("matrix-own-adapter");
    const { client, opts } = grpcClient(StatusService, "test:adapter-dns");
    const err = await client.reportStatus(report(c.id, "validation"), opts).catch((e) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.PermissionDenied);
    expect((err as ConnectError).rawMessage).toMatch(/only under its own name/);
    const ok = await client.reportStatus(report(c.id, "dns"), opts);
    expect(ok.stored).toBe(true);
    // The same over Connect (connect-node's path, where the message is read after the gate).
    const h1 = grpcClient(StatusService, "test:adapter-dns", {}, "connect-json-h1");
    expect(await codeOf(h1.client.reportStatus(report(c.id, "validation"), h1.opts))).toBe("PermissionDenied");
    // The sentinel and a plain user may not report at all.
    for (const who of ["test:sentinel", "test:user", "test:reader"]) {
      const { client: other, opts: o } = grpcClient(StatusService, who);
      expect([who, await codeOf(other.reportStatus(report(c.id, "dns"), o))]).toEqual([who, "PermissionDenied"]);
    }
  });

  test("ForceDeleteCluster needs an operator: a user is PermissionDenied, an operator removes it", async () => {
    const c = await cluster("matrix-force");
    const user = grpcClient(ClusterService, "test:user");
    await user.client.deleteCluster({ id: c.id }, user.opts);
    expect(await codeOf(user.client.forceDeleteCluster({ id: c.id, reason: "test" }, user.opts))).toBe("PermissionDenied");
    const op = grpcClient(ClusterService, "test:operator");
    await op.client.forceDeleteCluster({ id: c.id, reason: "test" }, op.opts);
    expect(await codeOf(op.client.getCluster({ id: c.id }, op.opts))).toBe("NotFound");
  });

  test.each<Protocol>(["grpc", "connect-json-h1"])("over %s, created_by/updated_by/deleted_by are the token's identity; x-hyperfleet-user counts only from the trusted proxy", async (protocol) => {
    const forged = { "x-hyperfleet-user": "mallory" };
    const user = grpcClient(ClusterService, "test:user", forged, protocol);
    const mine = await user.client.createCluster({ name: `matrix-by-user-${protocol.slice(0, 4)}`, spec: {} }, user.opts);
    expect(mine.createdBy).toBe("test:user");
    const updated = await user.client.updateCluster({ id: mine.id, spec: { a: 1 } }, user.opts);
    expect(updated.updatedBy).toBe("test:user");
    const deleted = await user.client.deleteCluster({ id: mine.id }, user.opts);
    expect(deleted.deletedBy).toBe("test:user");

    const proxy = grpcClient(ClusterService, "test:proxy", { "x-hyperfleet-user": "alice" }, protocol);
    const theirs = await proxy.client.createCluster({ name: `matrix-by-proxy-${protocol.slice(0, 4)}`, spec: {} }, proxy.opts);
    expect(theirs.createdBy).toBe("alice");
    const bob = grpcClient(ClusterService, "test:proxy", { "x-hyperfleet-user": "bob" }, protocol);
    expect((await bob.client.updateCluster({ id: theirs.id, spec: { a: 1 } }, bob.opts)).updatedBy).toBe("bob");
    // The proxy without the header acts as itself.
    const bare = grpcClient(ClusterService, "test:proxy", {}, protocol);
    expect((await bare.client.deleteCluster({ id: theirs.id }, bare.opts)).deletedBy).toBe("test:proxy");
  });

  test("health Check answers with no token on every server (the API and the Sentinel SERVING)", async () => {
    for (const server of SERVERS) {
      const health = createClient(Health, transportFor(server, "grpc"));
      const r = await health.check({ service: "" }, { timeoutMs: 5000 });
      if (server !== "adapter") expect([server, r.status]).toEqual([server, HealthCheckResponse_ServingStatus.SERVING]);
      // The adapter is NOT_SERVING until it consumes its subscription, which this one never does: still an answer, not a refusal.
      else expect(r.status).toBeDefined();
    }
  });

  test("the refusals of credentials leak nothing: every bad token gets the same message and metadata; no token says only that one is required", async () => {
    const issuer = api.issuer!.issuer;
    const valid = tokens.get("test:nobody")!;
    const [h, , s] = valid.split(".");
    const otherPayload = (await api.issuer!.token("test:operator")).split(".")[1];
    const extra: Record<string, string | undefined> = {
      tampered: `Bearer ${h}.${otherPayload}.${s}`,
      "unknown-issuer": `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).setIssuer("elsewhere").setAudience(issuer.audience).setSubject("test:operator").setExpirationTime("1h").sign((await generateKeyPair("ES256")).privateKey)}`,
      malformed: "Bearer not-a-jwt",
      "not-bearer": "Basic dGVzdDpvcGVyYXRvcg==",
    };
    const cases: Record<string, string | undefined> = {
      none: undefined,
      "bad-signature": `Bearer ${bad["bad-signature"]}`,
      expired: `Bearer ${bad.expired}`,
      "wrong-audience": `Bearer ${bad["wrong-audience"]}`,
      ...extra,
    };
    const m = ClusterService.methods.find((x) => x.name === "ForceDeleteCluster")!;
    const seen: Record<string, { code: string; message: string; metadata: string[]; details: number }> = {};
    for (const protocol of ["grpc", "connect-json-h1", "grpc-web-h1"] as Protocol[]) {
      for (const [name, authorization] of Object.entries(cases)) {
        const { error } = await call("api", protocol, ClusterService, m, authorization);
        expect(error).toBeDefined();
        const metadata = [...error!.metadata.keys()].filter((k) => !["date", "content-length", "connection", "keep-alive"].includes(k)).sort();
        seen[`${protocol} ${name}`] = { code: Code[error!.code], message: error!.rawMessage, metadata, details: error!.details.length };
      }
    }
    console.log(
      "refusals of credentials (ForceDeleteCluster):\n" +
        Object.entries(seen)
          .map(([k, v]) => `${k.padEnd(30)} ${v.code} ${JSON.stringify(v.message)} metadata=[${v.metadata.join(",")}] details=${v.details}`)
          .join("\n"),
    );
    for (const protocol of ["grpc", "connect-json-h1", "grpc-web-h1"]) {
      const of = (name: string) => seen[`${protocol} ${name}`];
      expect(of("none")).toEqual({ code: "Unauthenticated", message: "authentication required", metadata: of("expired").metadata, details: 0 });
      for (const name of Object.keys(cases).filter((n) => n !== "none")) {
        expect([name, of(name)]).toEqual([name, { code: "Unauthenticated", message: "invalid credentials", metadata: of("expired").metadata, details: 0 }]);
      }
    }
  });
});
