/**
 * createRpcServer over real TLS (certificates from the local CA): every protocol and client the
 * services use, mTLS refusals, the verified client certificate's identity in each call's context,
 * and the front's bounds (a handshake that never finishes, a reset mid-handshake, garbage) as in cleartext.
 */
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import tls from "node:tls";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { openLocalCa, type IssuedCertificate, type LocalCa } from "../auth/local-ca.js";
import { createFastGrpcTransport, type ClientTls } from "./grpc-client.js";
import { identityOfCertificate, parseSubjectAltName, peerIdentityOf, peerIdentityOfSocket } from "./peer.js";
import { createRpcServer, type RpcServerLimits, type ServeTls } from "./serve.js";

const SLACK_MS = 4000;
let dir: string;
let ca: LocalCa;
let otherCa: LocalCa;
let serverCert: IssuedCertificate;
let dnsAdapter: IssuedCertificate;
let dnsOnly: IssuedCertificate;
let foreign: IssuedCertificate;
const DNS_ADAPTER = "spiffe://hyperfleet/adapter/dns";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hf-tls-"));
  ca = await openLocalCa(join(dir, "ca"));
  otherCa = await openLocalCa(join(dir, "other"), { name: "Someone else's CA" });
  serverCert = await ca.issueCertificate({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], days: 1 });
  dnsAdapter = await ca.issueCertificate({ uris: [DNS_ADAPTER, "spiffe://hyperfleet/second"], dnsNames: ["dns.adapter"], days: 1 });
  dnsOnly = await ca.issueCertificate({ dnsNames: ["sentinel.hyperfleet.internal", "other.name"], days: 1 });
  // Same names as a legitimate client, signed by a CA the server does not trust.
  foreign = await otherCa.issueCertificate({ uris: [DNS_ADAPTER], days: 1 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Server = ReturnType<typeof createRpcServer>;
const servers: Server[] = [];
const transports: { close(): void }[] = [];
afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
});

/** A Health-only server over TLS; `seen` records each call's peer identity, as its interceptors saw it. */
async function start(opts: { mtls?: boolean; tls?: ServeTls; limits?: Partial<RpcServerLimits>; fastPath?: boolean } = {}) {
  const seen: (string | undefined)[] = [];
  const record: Interceptor = (next) => (req) => {
    seen.push(peerIdentityOf(req.contextValues));
    return next(req);
  };
  const server = createRpcServer({
    routes: () => undefined,
    services: [],
    interceptors: [record],
    tls: opts.tls ?? { cert: serverCert.cert, key: serverCert.key, ca: opts.mtls ? ca.cert : undefined },
    limits: opts.limits,
    fastPath: opts.fastPath,
  });
  servers.push(server);
  const port = await server.listen(0, "127.0.0.1");
  return { server, port, url: `https://127.0.0.1:${port}`, seen };
}

/**
 * A call that never reached the server: the fast client says Unavailable, as for any transport
 * failure; connect-node's clients report a TLS failure as Internal, or Canceled when the server
 * closed the HTTP/2 connection right after the handshake (their mapping, not the server's).
 */
function refused(err: ConnectError, fast: boolean): void {
  if (fast) expect(err.code).toBe(Code.Unavailable);
  else expect([Code.Unavailable, Code.Internal, Code.Canceled]).toContain(err.code);
}

const rejection = async (p: Promise<unknown>) => ConnectError.from(await p.then(() => new Error("no error"), (e: unknown) => e));

/** Every client the services and tests use, over TLS. */
const clients: [string, (url: string, t: ClientTls) => Transport][] = [
  [
    "gRPC, the services' fast client",
    (url, t) => {
      const tr = createFastGrpcTransport({ baseUrl: url, tls: t });
      transports.push(tr);
      return tr;
    },
  ],
  ["gRPC, connect-node", (url, t) => createGrpcTransport({ baseUrl: url, nodeOptions: t })],
  ["Connect over HTTP/2", (url, t) => createConnectTransport({ baseUrl: url, httpVersion: "2", nodeOptions: t })],
  ["Connect over HTTP/1.1", (url, t) => createConnectTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: t })],
  ["gRPC-Web over HTTP/1.1", (url, t) => createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: t })],
];

describe.each(clients)("%s", (_name, transport) => {
  test("TLS: served; a client that does not trust the server's CA is refused", async () => {
    const { url, seen } = await start();
    expect((await createClient(Health, transport(url, { ca: ca.cert })).check({})).status).toBe(ServingStatus.SERVING);
    expect(seen).toEqual([undefined]);
    const err = await rejection(createClient(Health, transport(url, { ca: otherCa.cert })).check({}));
    refused(err, _name.includes("fast"));
    expect(err.message).toMatch(/self-signed certificate|unable to verify/i);
  });

  test("TLS without a client CA: a client certificate is neither asked for nor an identity", async () => {
    const { url, seen } = await start();
    await createClient(Health, transport(url, { ca: ca.cert, cert: dnsAdapter.cert, key: dnsAdapter.key })).check({});
    expect(seen).toEqual([undefined]);
  });

  test("mTLS: a client without a certificate, or with one from another CA, fails the handshake", async () => {
    const { url, seen } = await start({ mtls: true });
    for (const t of [{ ca: ca.cert }, { ca: ca.cert, cert: foreign.cert, key: foreign.key }]) {
      const err = await rejection(createClient(Health, transport(url, t)).check({}));
      refused(err, _name.includes("fast"));
    }
    expect(seen).toEqual([]);
  });

  test("mTLS: the certificate's first URI SAN, else its first DNS SAN, is each call's peer identity", async () => {
    const { url, seen } = await start({ mtls: true });
    const adapter = createClient(Health, transport(url, { ca: ca.cert, cert: dnsAdapter.cert, key: dnsAdapter.key }));
    await adapter.check({});
    await adapter.check({});
    await createClient(Health, transport(url, { ca: ca.cert, cert: dnsOnly.cert, key: dnsOnly.key })).check({});
    expect(seen).toEqual([DNS_ADAPTER, DNS_ADAPTER, "sentinel.hyperfleet.internal"]);
  });
});

test("the identity reaches calls served by connect-node too (fast path off), and streaming calls", async () => {
  const { url, seen } = await start({ mtls: true, fastPath: false });
  const t = createFastGrpcTransport({ baseUrl: url, tls: { ca: ca.cert, cert: dnsAdapter.cert, key: dnsAdapter.key } });
  transports.push(t);
  await createClient(Health, t).check({});
  const abort = new AbortController();
  for await (const r of createClient(Health, t).watch({}, { signal: abort.signal })) {
    expect(r.status).toBe(ServingStatus.SERVING);
    break;
  }
  abort.abort();
  expect(seen).toEqual([DNS_ADAPTER, DNS_ADAPTER]);
});

test("an https URL with TLS material is required: TLS options with http:// are refused at creation", () => {
  expect(() => createFastGrpcTransport({ baseUrl: "http://127.0.0.1:1", tls: { ca: "x" } })).toThrow("http://127.0.0.1:1: TLS options (a CA or a client certificate) need an https URL");
  expect(() => createFastGrpcTransport({ baseUrl: "https://127.0.0.1:1", tls: { cert: "x" } })).toThrow("a client certificate needs both cert and key");
});

test("a cleartext client of a TLS server is not served, and the server goes on", async () => {
  const { port, url } = await start();
  const plain = createFastGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, defaultTimeoutMs: 2000 });
  transports.push(plain);
  const err = await rejection(createClient(Health, plain).check({}));
  expect([Code.Unavailable, Code.DeadlineExceeded]).toContain(err.code);
  const res = await fetch(`http://127.0.0.1:${port}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).catch((e: unknown) => e);
  expect(res).not.toBeInstanceOf(Response);
  expect((await createClient(Health, createConnectTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: { ca: ca.cert } })).check({})).status).toBe(ServingStatus.SERVING);
});

/** A TLS connection that offers no ALPN protocol at all. */
function connectWithoutAlpn(port: number, t: ClientTls = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: ca.cert, cert: t.cert, key: t.key }, () => resolve(s));
    s.once("error", reject);
  });
}

describe("a TLS client that offers no ALPN: the first bytes pick the protocol, as in cleartext", () => {
  test("HTTP/1.1 (with mTLS, the identity still reaches the call)", async () => {
    const { port, seen } = await start({ mtls: true });
    const s = await connectWithoutAlpn(port, { cert: dnsAdapter.cert, key: dnsAdapter.key });
    expect(s.alpnProtocol).toBe(false);
    const body = "{}";
    s.write(`POST /grpc.health.v1.Health/Check HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    let text = "";
    s.setEncoding("utf8");
    for await (const chunk of s) text += chunk as string;
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(text).toContain('{"status":"SERVING"}');
    expect(seen).toEqual([DNS_ADAPTER]);
  });

  test("HTTP/2 by prior knowledge is served (Node's own HTTP/2 server would answer 403 'Missing ALPN Protocol')", async () => {
    const { port, url, seen } = await start({ mtls: true });
    const socket = await connectWithoutAlpn(port, { cert: dnsAdapter.cert, key: dnsAdapter.key });
    const session = http2.connect(url, { createConnection: () => socket });
    try {
      const status = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/json" });
        let text = "";
        req.setEncoding("utf8");
        req.on("data", (c: string) => (text += c));
        req.on("end", () => resolve(text));
        req.on("error", reject);
        req.end("{}");
      });
      expect(status).toBe('{"status":"SERVING"}');
      expect(seen).toEqual([DNS_ADAPTER]);
    } finally {
      session.close();
    }
  });
});

test.each([
  ["TLS 1.3", "TLSv1.3"],
  ["TLS 1.2", "TLSv1.2"],
] as const)("mTLS over %s: no certificate fails the handshake with an alert, one from another CA is cut before anything is served; TLS 1.1 is refused", async (_name, version) => {
  const { port } = await start({ mtls: true });
  const handshake = (t: ClientTls, opts: tls.ConnectionOptions = {}) =>
    new Promise<string>((resolve) => {
      const s = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: ca.cert, cert: t.cert, key: t.key, minVersion: version, maxVersion: version, ...opts });
      // TLS 1.3 finishes the client's side of the handshake before the server has checked its certificate.
      s.on("secureConnect", () => s.write("GET / HTTP/1.1\r\n\r\n"));
      s.on("data", () => resolve("served"));
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      s.on("close", () => resolve("closed"));
    });
  expect(await handshake({})).toMatch(version === "TLSv1.3" ? "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED" : /HANDSHAKE_FAILURE|CERTIFICATE_REQUIRED/);
  // OpenSSL completes this handshake and Node's server then destroys the unauthorized socket, without an alert.
  expect(["closed", "ECONNRESET", "EPIPE"]).toContain(await handshake({ cert: foreign.cert, key: foreign.key }));
  expect(await handshake({ cert: dnsAdapter.cert, key: dnsAdapter.key })).toBe("served");
  expect(await handshake({ cert: dnsAdapter.cert, key: dnsAdapter.key }, { minVersion: "TLSv1.1", maxVersion: "TLSv1.1" })).toMatch(/ERR_SSL|PROTOCOL|VERSION/);
});

/** Resolves with how long the server took to close the connection. */
function closedAfter(s: net.Socket): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => s.once("close", () => resolve(performance.now() - t0)));
}

test("a TLS handshake that never finishes, or a client silent after it, is cut within headersTimeoutMs; a reset or garbage mid-handshake harms nothing", async () => {
  const limits = { headersTimeoutMs: 300 };
  const { server, port, url } = await start({ mtls: true, limits });
  // Connects and says nothing.
  const silent = net.connect(port, "127.0.0.1");
  silent.on("error", () => undefined);
  // Starts a handshake and stalls: half a ClientHello's record.
  const stalled = net.connect(port, "127.0.0.1", () => stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])));
  stalled.on("error", () => undefined);
  // Completes the handshake and then sends nothing.
  const quiet = await connectWithoutAlpn(port, { cert: dnsAdapter.cert, key: dnsAdapter.key });
  quiet.on("error", () => undefined);
  // Not TLS at all.
  const garbage = net.connect(port, "127.0.0.1", () => garbage.write("GET / HTTP/1.1\r\n\r\n"));
  garbage.on("error", () => undefined);
  // Reset in the middle of a handshake.
  const reset = net.connect(port, "127.0.0.1", () => {
    reset.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
    setTimeout(() => reset.resetAndDestroy(), 20);
  });
  reset.on("error", () => undefined);
  const [s, st, q, g] = await Promise.all([closedAfter(silent), closedAfter(stalled), closedAfter(quiet), closedAfter(garbage)]);
  for (const ms of [s, st, g]) expect(ms).toBeLessThan(limits.headersTimeoutMs + SLACK_MS);
  expect(q).toBeLessThan(limits.headersTimeoutMs + SLACK_MS);
  const t = createFastGrpcTransport({ baseUrl: url, tls: { ca: ca.cert, cert: dnsAdapter.cert, key: dnsAdapter.key } });
  transports.push(t);
  expect((await createClient(Health, t).check({})).status).toBe(ServingStatus.SERVING);
  t.close();
  const deadline = performance.now() + SLACK_MS;
  while (server.stats().connections > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(server.stats().connections).toBe(0);
});

test("beyond maxConnections a new TLS connection is closed on accept", async () => {
  const { server, port, url } = await start({ limits: { maxConnections: 1 } });
  const first = await connectWithoutAlpn(port);
  first.on("error", () => undefined);
  const second = net.connect(port, "127.0.0.1");
  second.on("error", () => undefined);
  expect(await closedAfter(second)).toBeLessThan(SLACK_MS);
  expect(server.stats().connections).toBe(1);
  first.destroy();
  await new Promise((r) => setTimeout(r, 50));
  expect((await createClient(Health, createConnectTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: { ca: ca.cert } })).check({})).status).toBe(ServingStatus.SERVING);
});

test("close() returns within its grace even with connections mid-handshake and idle TLS keep-alive clients", async () => {
  const { server, url, port } = await start({ limits: { headersTimeoutMs: 60_000 } });
  servers.splice(servers.indexOf(server), 1);
  await createClient(Health, createConnectTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: { ca: ca.cert } })).check({});
  const t = createFastGrpcTransport({ baseUrl: url, tls: { ca: ca.cert } });
  await createClient(Health, t).check({});
  const stalled = net.connect(port, "127.0.0.1", () => stalled.write(Buffer.from([0x16, 0x03, 0x01])));
  stalled.on("error", () => undefined);
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  await server.close(300);
  expect(performance.now() - t0).toBeLessThan(300 + SLACK_MS);
  t.close();
});

test("reloadTls: new connections get the new certificate; a server without TLS refuses it", async () => {
  const { server, port } = await start();
  const serial = async () => {
    const s = await connectWithoutAlpn(port);
    const n = s.getPeerCertificate().serialNumber;
    s.destroy();
    return n;
  };
  const before = await serial();
  const renewed = await ca.issueCertificate({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], days: 2 });
  server.reloadTls({ cert: renewed.cert, key: renewed.key });
  const after = await serial();
  expect(after).not.toBe(before);
  expect(after).toBe(new X509Certificate(renewed.cert).serialNumber);
  const plain = createRpcServer({ routes: () => undefined, services: [] });
  expect(() => plain.reloadTls({ cert: renewed.cert, key: renewed.key })).toThrow("this server was created without TLS");
});

describe("identity from a certificate", () => {
  test.each<[string, string | undefined, string | undefined]>([
    ["the first URI SAN", "DNS:a.example, URI:spiffe://hyperfleet/adapter/dns, URI:spiffe://x", "spiffe://hyperfleet/adapter/dns"],
    ["else the first DNS SAN", "IP Address:127.0.0.1, DNS:sentinel.internal, DNS:b", "sentinel.internal"],
    ["a quoted (escaped) URI is decoded", 'URI:"spiffe://hyperfleet/a\\u002cb c", URI:spiffe://x', "spiffe://hyperfleet/a,b c"],
    ["an empty first URI SAN is no identity (no falling back to DNS)", "URI:, DNS:a", undefined],
    ["only an IP address or an e-mail: none", "IP Address:10.0.0.1, email:a@b", undefined],
    ["no SAN: none (the CN is never read)", undefined, undefined],
    ["text that does not parse: none", 'URI:"unterminated, DNS:a', undefined],
  ])("%s", (_name, san, identity) => {
    expect(identityOfCertificate(san === undefined ? {} as { subjectaltname: string } : { subjectaltname: san })).toBe(identity);
  });

  test("the SAN text as Node writes it", () => {
    expect(parseSubjectAltName("DNS:localhost, IP Address:127.0.0.1, URI:spiffe://x")).toEqual([
      { type: "DNS", value: "localhost" },
      { type: "IP Address", value: "127.0.0.1" },
      { type: "URI", value: "spiffe://x" },
    ]);
    expect(parseSubjectAltName("DNS:a, ")).toBeUndefined();
  });

  test("only from a socket whose certificate chain was verified", () => {
    const socket = (authorized: boolean) => ({ authorized, getPeerCertificate: () => ({ subjectaltname: "URI:spiffe://x" }) as tls.PeerCertificate });
    expect(peerIdentityOfSocket(socket(true))).toBe("spiffe://x");
    expect(peerIdentityOfSocket(socket(false))).toBeUndefined();
  });
});
