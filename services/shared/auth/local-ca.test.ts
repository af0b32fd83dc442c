import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLocalCa } from "./local-ca.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hf-ca-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("creates a CA: ca.key private (0600), ca.crt a CA certificate valid for a year", async () => {
  const ca = await openLocalCa(join(dir, "ca"));
  expect(statSync(join(dir, "ca", "ca.key")).mode & 0o777).toBe(0o600);
  expect(statSync(join(dir, "ca")).mode & 0o777).toBe(0o700);
  expect(ca.certFile).toBe(join(dir, "ca", "ca.crt"));
  expect(readFileSync(ca.certFile, "utf8")).toBe(ca.cert);
  const c = new X509Certificate(ca.cert);
  expect(c.ca).toBe(true);
  expect(c.checkIssued(c)).toBe(true);
  expect(c.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
  const days = (Date.parse(c.validTo) - Date.now()) / 86_400_000;
  expect(days).toBeGreaterThan(364);
  expect(days).toBeLessThan(366);
  expect(c.checkPrivateKey(createPrivateKey(readFileSync(join(dir, "ca", "ca.key"))))).toBe(true);
});

test("opening it again loads the same CA; certificates issued before and after verify against it", async () => {
  const first = await openLocalCa(dir);
  const before = await first.issueCertificate({ dnsNames: ["localhost"], days: 1 });
  const again = await openLocalCa(dir);
  expect(again.cert).toBe(first.cert);
  const after = await again.issueCertificate({ dnsNames: ["localhost"], days: 1 });
  const ca = new X509Certificate(first.cert);
  for (const issued of [before, after]) {
    const c = new X509Certificate(issued.cert);
    expect(c.checkIssued(ca)).toBe(true);
    expect(c.verify(ca.publicKey)).toBe(true);
  }
});

test("a server certificate names 127.0.0.1 and localhost; a client's carries its URI SAN; each has its own key", async () => {
  const ca = await openLocalCa(dir);
  const server = await ca.issueCertificate({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"], days: 30 });
  const s = new X509Certificate(server.cert);
  expect(s.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
  expect(s.checkHost("localhost")).toBe("localhost");
  expect(s.checkIP("127.0.0.1")).toBe("127.0.0.1");
  expect(s.ca).toBe(false);
  expect(s.keyUsage).toEqual(expect.arrayContaining(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]));
  expect(s.checkPrivateKey(createPrivateKey(server.key))).toBe(true);
  const days = (Date.parse(s.validTo) - Date.now()) / 86_400_000;
  expect(days).toBeGreaterThan(29);
  expect(days).toBeLessThanOrEqual(30);

  const client = await ca.issueCertificate({ uris: ["spiffe://hyperfleet/adapter/dns"], days: 1 });
  const c = new X509Certificate(client.cert);
  expect(c.subjectAltName).toBe("URI:spiffe://hyperfleet/adapter/dns");
  expect(c.subject).toBe("CN=spiffe://hyperfleet/adapter/dns");
  expect(c.checkPrivateKey(createPrivateKey(client.key))).toBe(true);
  expect(c.checkPrivateKey(createPrivateKey(server.key))).toBe(false);
  expect(c.serialNumber).not.toBe(s.serialNumber);
});

test("no certificate outlives its CA; a request without a name or without days is refused", async () => {
  const ca = await openLocalCa(dir, { days: 2 });
  const c = new X509Certificate((await ca.issueCertificate({ dnsNames: ["localhost"], days: 365 })).cert);
  expect(c.validTo).toBe(new X509Certificate(ca.cert).validTo);
  await expect(ca.issueCertificate({ days: 1 })).rejects.toThrow("at least one name");
  await expect(ca.issueCertificate({ dnsNames: ["x"], days: 0 })).rejects.toThrow("days must be positive");
});

test("an expired CA is replaced by a new one", async () => {
  const old = await openLocalCa(dir, { days: 1 });
  const later = await openLocalCa(dir, { now: () => Date.now() + 2 * 86_400_000 });
  expect(later.cert).not.toBe(old.cert);
  expect(readFileSync(later.certFile, "utf8")).toBe(later.cert);
});

test("a CA that cannot be read is an error naming its files, not replaced", async () => {
  await openLocalCa(dir);
  const keyPath = join(dir, "ca.key");
  writeFileSync(keyPath, "garbage");
  writeFileSync(join(dir, "ca.crt"), "garbage");
  await expect(openLocalCa(dir)).rejects.toThrow(`${keyPath}, ${join(dir, "ca.crt")}: unreadable CA`);
});
