/**
 * mTLS as the second way to authenticate, on a real TLS server (createRpcServer with a client CA)
 * with createJwtAuth installed as every service installs it: a client certificate's URI SAN is the
 * caller's identity and gets its roles from the bindings; a bearer token, when sent, wins.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ClusterService } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { StatusService } from "../../../gen/hyperfleet/v1/status_pb.js";
import { ServerReflection } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { createApiClient } from "../api-client.js";
import { createFastGrpcTransport, type ClientTls } from "../rpc/grpc-client.js";
import { createRpcServer, type RpcServer } from "../rpc/serve.js";
import { createJwtAuth, principalOf, X509_ISSUER, type Authenticator } from "./interceptor.js";
import { openLocalCa, type IssuedCertificate, type LocalCa } from "./local-ca.js";
import type { Role, RoleBindings } from "./roles.js";
import { bearerInterceptor, openLocalIssuer, staticToken, type LocalIssuer } from "./tokens.js";
import { createTokenVerifier } from "./verify.js";

const DNS = "spiffe://hyperfleet/adapter/dns";
const NOBODY = "spiffe://hyperfleet/nobody";
const bindings: RoleBindings = {
  identities: new Map<string, Role[]>([
    [DNS, ["adapter:dns"]],
    ["olga", ["operator"]],
  ]),
  claims: new Map(),
};

let dir: string;
let ca: LocalCa;
let issuer: LocalIssuer;
let serverCert: IssuedCertificate;
let dnsCert: IssuedCertificate;
let nobodyCert: IssuedCertificate;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hf-mtls-"));
  ca = await openLocalCa(join(dir, "ca"));
  issuer = await openLocalIssuer(join(dir, "issuer"));
  serverCert = await ca.issueCertificate({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], days: 1 });
  dnsCert = await ca.issueCertificate({ uris: [DNS], days: 1 });
  nobodyCert = await ca.issueCertificate({ uris: [NOBODY], days: 1 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rejection = async (p: Promise<unknown>) => ConnectError.from(await p.then(() => new Error("no error"), (e: unknown) => e));

/** GetCluster answers with who called: created_by the principal's identity, name its issuer. */
function routes(router: Parameters<Parameters<typeof createRpcServer>[0]["routes"]>[0]) {
  router.service(ClusterService, {
    getCluster: (req, ctx) => ({ id: req.id, createdBy: principalOf(ctx.values)?.identity, name: principalOf(ctx.values)?.issuer }),
    forceDeleteCluster: () => ({ nodepoolsRemoved: 1n }),
  });
  router.service(StatusService, { reportStatus: () => ({ stored: true }) });
}

async function serve(auth: Authenticator, withGate: boolean, mtls: boolean): Promise<{ server: RpcServer; url: string }> {
  const server = createRpcServer({
    services: [ClusterService, StatusService],
    routes,
    interceptors: [auth.interceptor],
    requestGate: withGate ? auth.requestGate : undefined,
    tls: { cert: serverCert.cert, key: serverCert.key, ca: mtls ? ca.cert : undefined },
  });
  return { server, url: `https://127.0.0.1:${await server.listen(0, "127.0.0.1")}` };
}

const open: { close(): void }[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.close();
});

const protocols: [string, (url: string, t: ClientTls, interceptors: Interceptor[]) => Transport][] = [
  [
    "gRPC (the services' fast client)",
    (url, t, interceptors) => {
      const tr = createFastGrpcTransport({ baseUrl: url, tls: t, interceptors });
      open.push(tr);
      return tr;
    },
  ],
  ["gRPC (connect-node)", (url, t, interceptors) => createGrpcTransport({ baseUrl: url, nodeOptions: t, interceptors })],
  ["Connect JSON over HTTP/1.1", (url, t, interceptors) => createConnectTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: t, interceptors })],
  ["gRPC-Web over HTTP/2", (url, t, interceptors) => createGrpcWebTransport({ baseUrl: url, httpVersion: "2", nodeOptions: t, interceptors })],
];

describe.each([
  ["interceptor only", false],
  ["interceptor and request gate", true],
])("mTLS with the %s", (_name, withGate) => {
  let server: RpcServer;
  let url: string;
  beforeAll(async () => {
    ({ server, url } = await serve(createJwtAuth({ verifier: createTokenVerifier([issuer.config()]), bindings }), withGate, true));
  });
  afterAll(() => server.close(100));

  describe.each(protocols)("%s", (_protocol, transport) => {
    const as = (cert: IssuedCertificate, token?: string) => {
      const t = transport(url, { ca: ca.cert, cert: cert.cert, key: cert.key }, token === undefined ? [] : [bearerInterceptor(staticToken(token))]);
      return { clusters: createClient(ClusterService, t), statuses: createClient(StatusService, t) };
    };

    test("a certificate whose URI SAN is bound to adapter:dns: that URI is the principal (issuer x509), with that role's rights and no more", async () => {
      const dns = as(dnsCert);
      expect(await dns.clusters.getCluster({ id: "c1" })).toMatchObject({ id: "c1", createdBy: DNS, name: X509_ISSUER });
      expect((await dns.statuses.reportStatus({ resourceId: "c1", adapter: "dns", observedGeneration: 1n })).stored).toBe(true);
      const other = await rejection(dns.statuses.reportStatus({ resourceId: "c1", adapter: "placement", observedGeneration: 1n }));
      expect([other.code, other.rawMessage]).toEqual([Code.PermissionDenied, "permission denied: an adapter reports only under its own name"]);
      expect((await rejection(dns.clusters.forceDeleteCluster({ id: "c1", reason: "r" }))).code).toBe(Code.PermissionDenied);
    });

    test("a bearer token wins over the certificate: its identity and roles, and a bad token is not replaced by the certificate", async () => {
      const olga = as(dnsCert, await issuer.issue({ sub: "olga" }));
      expect(await olga.clusters.getCluster({ id: "c1" })).toMatchObject({ createdBy: "olga", name: "hyperfleet-local" });
      expect((await olga.clusters.forceDeleteCluster({ id: "c1", reason: "r" })).nodepoolsRemoved).toBe(1n);
      const expired = await rejection(as(dnsCert, await issuer.issue({ sub: "olga", ttlSeconds: -60 })).clusters.getCluster({ id: "c1" }));
      expect([expired.code, expired.rawMessage]).toEqual([Code.Unauthenticated, "invalid credentials"]);
    });

    test("a verified certificate whose identity is bound to nothing is authenticated without roles", async () => {
      const err = await rejection(as(nobodyCert).clusters.getCluster({ id: "c1" }));
      expect([err.code, err.rawMessage]).toEqual([Code.PermissionDenied, "permission denied for hyperfleet.v1.ClusterService/GetCluster"]);
    });
  });

  test("reflection (a streaming call, any identity) is open to a certificate bound to nothing", async () => {
    const requests = (async function* () {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
    })();
    const names: string[] = [];
    const t = createGrpcTransport({ baseUrl: url, nodeOptions: { ca: ca.cert, cert: nobodyCert.cert, key: nobodyCert.key } });
    for await (const r of createClient(ServerReflection, t).serverReflectionInfo(requests)) {
      if (r.messageResponse.case === "listServicesResponse") names.push(...r.messageResponse.value.service.map((s) => s.name));
    }
    expect(names).toContain("hyperfleet.v1.ClusterService");
  });

  test("the services' API client (createApiClient with tls) authenticates by its certificate alone", async () => {
    const api = createApiClient(url, { tls: { ca: ca.cert, cert: dnsCert.cert, key: dnsCert.key } });
    expect((await api.clusters.getCluster({ id: "c2" })).createdBy).toBe(DNS);
    const slow = createApiClient(url, { fastPath: false, tls: { ca: ca.cert, cert: dnsCert.cert, key: dnsCert.key } });
    expect((await slow.statuses.reportStatus({ resourceId: "c2", adapter: "dns", observedGeneration: 1n })).stored).toBe(true);
  });
});

test("TLS without a client CA: a certificate proves nothing, a token is still required", async () => {
  const { server, url } = await serve(createJwtAuth({ verifier: createTokenVerifier([issuer.config()]), bindings }), true, false);
  try {
    const t = createFastGrpcTransport({ baseUrl: url, tls: { ca: ca.cert, cert: dnsCert.cert, key: dnsCert.key } });
    open.push(t);
    const err = await rejection(createClient(ClusterService, t).getCluster({ id: "c1" }));
    expect([err.code, err.rawMessage]).toEqual([Code.Unauthenticated, "authentication required"]);
    const withToken = createFastGrpcTransport({ baseUrl: url, tls: { ca: ca.cert }, interceptors: [bearerInterceptor(staticToken(await issuer.issue({ sub: "olga" })))] });
    open.push(withToken);
    expect((await createClient(ClusterService, withToken).getCluster({ id: "c1" })).createdBy).toBe("olga");
  } finally {
    await server.close(100);
  }
});
