// @peculiar/x509 registers its parsers in a tsyringe container, which refuses to load without this polyfill.
import "reflect-metadata";
import { randomBytes, webcrypto } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";

/** A certificate and its private key, PEM (the key PKCS#8): what tls.createServer and http2.connect take. */
export interface IssuedCertificate {
  cert: string;
  key: string;
}

/** What a certificate names. A server's needs the names its clients dial (127.0.0.1, localhost); a client's, its identity as a URI SAN. */
export interface CertificateRequest {
  dnsNames?: readonly string[];
  /** e.g. spiffe://hyperfleet/adapter/dns: the identity the server's mTLS reads (services/shared/rpc/peer.ts). */
  uris?: readonly string[];
  ipAddresses?: readonly string[];
  /** Validity from now. */
  days: number;
  /** The subject's CN, for people reading the certificate only: no server takes an identity from it. Default: the first name given. */
  commonName?: string;
}

/** A certificate authority kept under a directory: the local bootstrap's (`npm start`, tests), as the local issuer is for tokens. */
export interface LocalCa {
  /** ca.crt: what servers trust for client certificates (TLS_CLIENT_CA_FILE) and clients for servers (API_CA_FILE). */
  readonly certFile: string;
  /** The CA certificate, PEM. */
  readonly cert: string;
  /** A certificate for both TLS server and client use, signed by this CA, with a fresh ECDSA P-256 key. */
  issueCertificate(req: CertificateRequest): Promise<IssuedCertificate>;
}

const ALG: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const KEY_FILE = "ca.key";
const CERT_FILE = "ca.crt";
const DAY_MS = 86_400_000;
/** Issued certificates start this far back, so that a peer whose clock is a little behind accepts them at once. */
const BACKDATE_MS = 5 * 60_000;

/**
 * Opens the CA stored under `dir` (ca.key, mode 0600; ca.crt), creating an ECDSA P-256 one valid for
 * `days` (default 365) when there is none or the stored one has expired. Files are written whole and
 * renamed into place. Uses WebCrypto (globalThis.crypto).
 */
export async function openLocalCa(dir: string, opts: { days?: number; name?: string; now?: () => number } = {}): Promise<LocalCa> {
  const crypto = globalThis.crypto;
  const now = opts.now ?? Date.now;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, KEY_FILE);
  const certFile = join(dir, CERT_FILE);

  let signingKey: webcrypto.CryptoKey;
  let caCert: x509.X509Certificate;
  const stored = load(keyPath, certFile);
  if (stored && stored.cert.notAfter.getTime() > now()) {
    caCert = stored.cert;
    signingKey = await crypto.subtle.importKey("pkcs8", stored.keyDer, ALG, false, ["sign"]);
  } else {
    const keys = (await crypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
    const start = now();
    caCert = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: serial(),
        name: `CN=${opts.name ?? "HyperFleet local CA"}`,
        notBefore: new Date(start - BACKDATE_MS),
        notAfter: new Date(start + (opts.days ?? 365) * DAY_MS),
        signingAlgorithm: ALG,
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        ],
      },
      crypto,
    );
    writeAtomically(keyPath, pemKey(await crypto.subtle.exportKey("pkcs8", keys.privateKey)), 0o600);
    writeAtomically(certFile, caCert.toString("pem") + "\n", 0o644);
    signingKey = keys.privateKey;
  }
  const caPem = caCert.toString("pem") + "\n";
  const authorityKeyId = await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey, false, crypto);

  return {
    certFile,
    cert: caPem,
    async issueCertificate(req) {
      const names: x509.JsonGeneralNames = [
        ...(req.uris ?? []).map((value) => ({ type: "url" as const, value })),
        ...(req.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
        ...(req.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
      ];
      if (names.length === 0) throw new Error("a certificate needs at least one name (dnsNames, uris or ipAddresses)");
      if (!(req.days > 0)) throw new Error(`days must be positive, not ${req.days}`);
      const keys = (await crypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
      const start = now();
      const notAfter = Math.min(start + req.days * DAY_MS, caCert.notAfter.getTime());
      const cert = await x509.X509CertificateGenerator.create(
        {
          serialNumber: serial(),
          subject: `CN=${escapeDn((req.commonName ?? names[0].value).slice(0, 64))}`,
          issuer: caCert.subject,
          notBefore: new Date(start - BACKDATE_MS),
          notAfter: new Date(notAfter),
          signingAlgorithm: ALG,
          publicKey: keys.publicKey,
          signingKey,
          extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
            new x509.SubjectAlternativeNameExtension(names),
            await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
            authorityKeyId,
          ],
        },
        crypto,
      );
      return { cert: cert.toString("pem") + "\n", key: pemKey(await crypto.subtle.exportKey("pkcs8", keys.privateKey)) };
    },
  };
}

function load(keyPath: string, certPath: string): { keyDer: ArrayBuffer; cert: x509.X509Certificate } | undefined {
  let keyPem: string;
  let certPem: string;
  try {
    keyPem = readFileSync(keyPath, "utf8");
    certPem = readFileSync(certPath, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return { keyDer: x509.PemConverter.decodeFirst(keyPem), cert: new x509.X509Certificate(certPem) };
  } catch (err) {
    throw new Error(`${keyPath}, ${certPath}: unreadable CA (${(err as Error).message})`);
  }
}

/** A positive 128-bit serial number, hex. */
function serial(): string {
  const b = randomBytes(16);
  // Top bit clear (positive), next one set (no leading zero byte for DER to strip).
  b[0] = (b[0] & 0x7f) | 0x40;
  return b.toString("hex");
}

function pemKey(pkcs8: ArrayBuffer): string {
  return x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n";
}

/** RFC 4514 escaping for a CN value. */
function escapeDn(v: string): string {
  return v.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`).replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, "\\ ");
}

function writeAtomically(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}
