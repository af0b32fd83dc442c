import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLocalCa } from "./auth/local-ca.js";
import { clientTlsConfig, tlsConfig, watchTlsConfig, type ReadFile } from "./tls-config.js";

/** The files the tables name, by path. */
const files = new Map<string, Buffer>();
const read: ReadFile = (path) => {
  const f = files.get(path);
  if (!f) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
  return f;
};
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hf-tls-config-"));
  const ca = await openLocalCa(join(dir, "ca"));
  const server = await ca.issueCertificate({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], days: 1 });
  const other = await ca.issueCertificate({ dnsNames: ["other"], days: 1 });
  files.set("/tls/server.crt", Buffer.from(server.cert));
  files.set("/tls/server.key", Buffer.from(server.key));
  files.set("/tls/other.key", Buffer.from(other.key));
  files.set("/tls/ca.crt", Buffer.from(ca.cert));
  files.set("/tls/garbage", Buffer.from("not a pem\n"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const buf = (path: string) => files.get(path);

describe("tlsConfig (server)", () => {
  test.each<[string, Record<string, string>, (() => object | undefined) | string]>([
    ["nothing set: cleartext", {}, () => undefined],
    ["empty values count as unset", { TLS_CERT_FILE: " ", TLS_KEY_FILE: "", TLS_CLIENT_CA_FILE: "" }, () => undefined],
    ["certificate and key: TLS", { TLS_CERT_FILE: "/tls/server.crt", TLS_KEY_FILE: "/tls/server.key" }, () => ({ cert: buf("/tls/server.crt"), key: buf("/tls/server.key") })],
    [
      "and a client CA: mTLS",
      { TLS_CERT_FILE: "/tls/server.crt", TLS_KEY_FILE: "/tls/server.key", TLS_CLIENT_CA_FILE: "/tls/ca.crt" },
      () => ({ cert: buf("/tls/server.crt"), key: buf("/tls/server.key"), ca: buf("/tls/ca.crt") }),
    ],
    ["a certificate without its key", { TLS_CERT_FILE: "/tls/server.crt" }, "TLS_CERT_FILE is set but TLS_KEY_FILE is not: set both (a certificate and its private key) or neither"],
    ["a key without its certificate", { TLS_KEY_FILE: "/tls/server.key" }, "TLS_KEY_FILE is set but TLS_CERT_FILE is not: set both (a certificate and its private key) or neither"],
    [
      "a client CA alone",
      { TLS_CLIENT_CA_FILE: "/tls/ca.crt" },
      "TLS_CLIENT_CA_FILE is set but TLS_CERT_FILE and TLS_KEY_FILE are not: client certificates (mTLS) need the server's own certificate and key",
    ],
    [
      "a missing file is named with its variable",
      { TLS_CERT_FILE: "/tls/absent.crt", TLS_KEY_FILE: "/tls/server.key" },
      `TLS_CERT_FILE="/tls/absent.crt": cannot read the file (ENOENT: no such file or directory, open '/tls/absent.crt')`,
    ],
    [
      "every bad file at once",
      { TLS_CERT_FILE: "/tls/garbage", TLS_KEY_FILE: "/tls/garbage", TLS_CLIENT_CA_FILE: "/tls/absent" },
      `TLS_CERT_FILE="/tls/garbage": not a PEM certificate; TLS_KEY_FILE="/tls/garbage": not a PEM private key; TLS_CLIENT_CA_FILE="/tls/absent": cannot read the file (ENOENT: no such file or directory, open '/tls/absent')`,
    ],
    ["a key and certificate swapped", { TLS_CERT_FILE: "/tls/server.key", TLS_KEY_FILE: "/tls/server.crt" }, `TLS_CERT_FILE="/tls/server.key": not a PEM certificate; TLS_KEY_FILE="/tls/server.crt": not a PEM private key`],
    [
      "a key that is not the certificate's",
      { TLS_CERT_FILE: "/tls/server.crt", TLS_KEY_FILE: "/tls/other.key" },
      `TLS_KEY_FILE="/tls/other.key": not the private key of the certificate in TLS_CERT_FILE="/tls/server.crt"`,
    ],
    ["a client CA that is not a certificate", { TLS_CERT_FILE: "/tls/server.crt", TLS_KEY_FILE: "/tls/server.key", TLS_CLIENT_CA_FILE: "/tls/server.key" }, `TLS_CLIENT_CA_FILE="/tls/server.key": not a PEM certificate`],
  ])("%s", (_name, env, expected) => {
    expect(tlsConfig(env, read)).toEqual(typeof expected === "string" ? { error: expected } : { value: expected() });
  });

  test("reads real files by default", () => {
    writeFileSync(join(dir, "s.crt"), files.get("/tls/server.crt")!);
    writeFileSync(join(dir, "s.key"), files.get("/tls/server.key")!);
    expect(tlsConfig({ TLS_CERT_FILE: join(dir, "s.crt"), TLS_KEY_FILE: join(dir, "s.key") })).toEqual({ value: { cert: buf("/tls/server.crt"), key: buf("/tls/server.key") } });
  });
});

describe("clientTlsConfig (the services' API client)", () => {
  const https = { API_URL: "https://api.hyperfleet.test:8443" };
  test.each<[string, Record<string, string>, (() => object | undefined) | string]>([
    ["nothing set: the system's CAs, no client certificate", {}, () => undefined],
    ["nothing set with an http URL is fine", { API_URL: "http://127.0.0.1:8000" }, () => undefined],
    ["a CA to trust", { ...https, API_CA_FILE: "/tls/ca.crt" }, () => ({ ca: buf("/tls/ca.crt") })],
    ["a client certificate", { ...https, API_CLIENT_CERT_FILE: "/tls/server.crt", API_CLIENT_KEY_FILE: "/tls/server.key" }, () => ({ cert: buf("/tls/server.crt"), key: buf("/tls/server.key") })],
    [
      "both",
      { ...https, API_CA_FILE: "/tls/ca.crt", API_CLIENT_CERT_FILE: "/tls/server.crt", API_CLIENT_KEY_FILE: "/tls/server.key" },
      () => ({ ca: buf("/tls/ca.crt"), cert: buf("/tls/server.crt"), key: buf("/tls/server.key") }),
    ],
    ["a client certificate without its key", { ...https, API_CLIENT_CERT_FILE: "/tls/server.crt" }, "API_CLIENT_CERT_FILE is set but API_CLIENT_KEY_FILE is not: set both (a certificate and its private key) or neither"],
    ["a key without its certificate", { ...https, API_CLIENT_KEY_FILE: "/tls/server.key" }, "API_CLIENT_KEY_FILE is set but API_CLIENT_CERT_FILE is not: set both (a certificate and its private key) or neither"],
    ["a CA for an http URL", { API_URL: "http://api:8000", API_CA_FILE: "/tls/ca.crt" }, `API_URL="http://api:8000": must be an https URL when API_CA_FILE or API_CLIENT_CERT_FILE is set`],
    [
      "a client certificate with the default (http) URL",
      { API_CLIENT_CERT_FILE: "/tls/server.crt", API_CLIENT_KEY_FILE: "/tls/server.key" },
      `API_URL="http://127.0.0.1:8000" (the default): must be an https URL when API_CA_FILE or API_CLIENT_CERT_FILE is set`,
    ],
    ["an unreadable CA", { ...https, API_CA_FILE: "/tls/absent" }, `API_CA_FILE="/tls/absent": cannot read the file (ENOENT: no such file or directory, open '/tls/absent')`],
    [
      "a key that is not the certificate's",
      { ...https, API_CLIENT_CERT_FILE: "/tls/server.crt", API_CLIENT_KEY_FILE: "/tls/other.key" },
      `API_CLIENT_KEY_FILE="/tls/other.key": not the private key of the certificate in API_CLIENT_CERT_FILE="/tls/server.crt"`,
    ],
  ])("%s", (_name, env, expected) => {
    expect(clientTlsConfig(env, read)).toEqual(typeof expected === "string" ? { error: expected } : { value: expected() });
  });
});

describe("watchTlsConfig", () => {
  const until = async (check: () => boolean) => {
    const deadline = Date.now() + 5000;
    while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(check()).toBe(true);
  };

  test("a renewed certificate and key reach onChange; a half-written one is reported and the last good one stays", async () => {
    const ca = await openLocalCa(join(dir, "ca"));
    const env = { TLS_CERT_FILE: join(dir, "w.crt"), TLS_KEY_FILE: join(dir, "w.key") };
    writeFileSync(env.TLS_CERT_FILE, files.get("/tls/server.crt")!);
    writeFileSync(env.TLS_KEY_FILE, files.get("/tls/server.key")!);
    const changes: unknown[] = [];
    const errors: string[] = [];
    const w = watchTlsConfig(env, (t) => changes.push(t), { checkMs: 10, onError: (e) => errors.push(e) });
    try {
      await new Promise((r) => setTimeout(r, 50));
      expect(changes).toEqual([]);
      const renewed = await ca.issueCertificate({ dnsNames: ["localhost"], days: 2 });
      // The certificate first: until its key follows, the pair does not match.
      writeFileSync(env.TLS_CERT_FILE, renewed.cert);
      await until(() => errors.length > 0);
      expect(errors[0]).toMatch(`TLS_KEY_FILE="${env.TLS_KEY_FILE}": not the private key of the certificate`);
      expect(changes).toEqual([]);
      writeFileSync(env.TLS_KEY_FILE, renewed.key);
      await until(() => changes.length > 0);
      expect(changes).toEqual([{ cert: Buffer.from(renewed.cert), key: Buffer.from(renewed.key) }]);
    } finally {
      w.stop();
    }
  });
});
