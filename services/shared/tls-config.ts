import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type { Parsed } from "./config.js";
import type { ClientTls } from "./rpc/grpc-client.js";
import type { ServeTls } from "./rpc/serve.js";

type Env = Record<string, string | undefined>;
/** How a file is read: readFileSync, or a table test's stand-in. */
export type ReadFile = (path: string) => Buffer;

function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

type Kind = "certificate" | "key" | "ca";

/**
 * One PEM file named by a variable, read and parsed (the first certificate of a chain, or the private
 * key), so that a wrong path or a swapped file is reported at startup with the variable that names it.
 */
function pemFile(name: string, path: string, kind: Kind, read: ReadFile): Parsed<Buffer> {
  let data: Buffer;
  try {
    data = read(path);
  } catch (err) {
    return { error: `${name}=${JSON.stringify(path)}: cannot read the file (${(err as Error).message})` };
  }
  try {
    if (kind === "key") createPrivateKey(data);
    else new X509Certificate(data);
  } catch {
    return { error: `${name}=${JSON.stringify(path)}: not a PEM ${kind === "key" ? "private key" : "certificate"}` };
  }
  return { value: data };
}

/** A certificate variable and its key variable: both or neither; the key must be the certificate's. */
function pair(env: Env, certName: string, keyName: string, read: ReadFile): Parsed<{ cert: Buffer; key: Buffer } | undefined> {
  const certPath = raw(env, certName);
  const keyPath = raw(env, keyName);
  if (certPath === undefined && keyPath === undefined) return { value: undefined };
  if (certPath === undefined) return { error: `${keyName} is set but ${certName} is not: set both (a certificate and its private key) or neither` };
  if (keyPath === undefined) return { error: `${certName} is set but ${keyName} is not: set both (a certificate and its private key) or neither` };
  const cert = pemFile(certName, certPath, "certificate", read);
  const key = pemFile(keyName, keyPath, "key", read);
  const errors = [cert, key].flatMap((p) => ("error" in p ? [p.error] : []));
  if ("error" in cert || "error" in key) return { error: errors.join("; ") };
  if (!new X509Certificate(cert.value).checkPrivateKey(createPrivateKey(key.value))) {
    return { error: `${keyName}=${JSON.stringify(keyPath)}: not the private key of the certificate in ${certName}=${JSON.stringify(certPath)}` };
  }
  return { value: { cert: cert.value, key: key.value } };
}

/**
 * A server's TLS from TLS_CERT_FILE and TLS_KEY_FILE (both or neither), and mTLS from
 * TLS_CLIENT_CA_FILE (which needs the first two): `undefined` when none is set (cleartext), else what
 * createRpcServer takes as `tls`. Files are read now; each error names its variable and file.
 */
export function tlsConfig(env: Env, read: ReadFile = readFileSync): Parsed<ServeTls | undefined> {
  const caPath = raw(env, "TLS_CLIENT_CA_FILE");
  const certKey = pair(env, "TLS_CERT_FILE", "TLS_KEY_FILE", read);
  if (caPath !== undefined && "value" in certKey && certKey.value === undefined) {
    return { error: `TLS_CLIENT_CA_FILE is set but TLS_CERT_FILE and TLS_KEY_FILE are not: client certificates (mTLS) need the server's own certificate and key` };
  }
  const ca = caPath === undefined ? { value: undefined } : pemFile("TLS_CLIENT_CA_FILE", caPath, "ca", read);
  if ("error" in certKey || "error" in ca) return { error: [certKey, ca].flatMap((p) => ("error" in p ? [p.error] : [])).join("; ") };
  if (certKey.value === undefined) return { value: undefined };
  return { value: ca.value === undefined ? certKey.value : { ...certKey.value, ca: ca.value } };
}

/** What the services' API client uses when API_URL is unset (services/sentinel/config.ts, services/adapter/config.ts). */
const DEFAULT_API_URL = "http://127.0.0.1:8000";

/**
 * A service's API client TLS: API_CA_FILE (the CA to trust for an https API_URL instead of the
 * system's), API_CLIENT_CERT_FILE and API_CLIENT_KEY_FILE (both or neither: the client certificate
 * for mTLS). `undefined` when none is set. Any of them with an API_URL that is not https is an error:
 * certificates configured for a cleartext URL would silently protect nothing.
 */
export function clientTlsConfig(env: Env, read: ReadFile = readFileSync): Parsed<ClientTls | undefined> {
  const caPath = raw(env, "API_CA_FILE");
  const certKey = pair(env, "API_CLIENT_CERT_FILE", "API_CLIENT_KEY_FILE", read);
  const ca = caPath === undefined ? { value: undefined } : pemFile("API_CA_FILE", caPath, "ca", read);
  const errors = [certKey, ca].flatMap((p) => ("error" in p ? [p.error] : []));
  const url = raw(env, "API_URL");
  const anySet = caPath !== undefined || raw(env, "API_CLIENT_CERT_FILE") !== undefined || raw(env, "API_CLIENT_KEY_FILE") !== undefined;
  if (anySet && !isHttps(url ?? DEFAULT_API_URL)) {
    errors.unshift(`API_URL=${JSON.stringify(url ?? DEFAULT_API_URL)}${url === undefined ? " (the default)" : ""}: must be an https URL when API_CA_FILE or API_CLIENT_CERT_FILE is set`);
  }
  if (errors.length > 0 || "error" in certKey || "error" in ca) return { error: errors.join("; ") };
  if (certKey.value === undefined && ca.value === undefined) return { value: undefined };
  return { value: { ...(ca.value !== undefined && { ca: ca.value }), ...certKey.value } };
}

function isHttps(url: string): boolean {
  try {
    return new URL(url).protocol === "https:";
  } catch {
    return false;
  }
}

/** What watchTlsConfig reports. */
export interface TlsWatchOptions {
  /** How often the files are looked at (stat), default 10 s. */
  checkMs?: number;
  /** A change that does not parse (a half-written file, a key that does not match yet): the previous material stays in force. */
  onError?: (error: string) => void;
}

/**
 * Calls `onChange` with the server's TLS material again whenever one of its files changes (as
 * cert-manager renews a mounted secret), for `server.reloadTls`. Files are looked at with stat every
 * `checkMs` and read only when one changed; a change that does not parse keeps the previous material
 * (reported to `onError`) and is tried again at the next change. The timer does not hold the process.
 */
export function watchTlsConfig(env: Env, onChange: (tls: ServeTls) => void, opts: TlsWatchOptions = {}): { stop(): void } {
  const paths = ["TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CLIENT_CA_FILE"].map((n) => raw(env, n)).filter((p): p is string => p !== undefined);
  const stamp = () =>
    paths
      .map((p) => {
        try {
          const s = statSync(p);
          return `${s.ino}:${s.size}:${s.mtimeMs}`;
        } catch {
          return "missing";
        }
      })
      .join("|");
  let last = stamp();
  const timer = setInterval(() => {
    const now = stamp();
    if (now === last) return;
    last = now;
    const next = tlsConfig(env);
    if ("error" in next) opts.onError?.(next.error);
    else if (next.value !== undefined) onChange(next.value);
  }, opts.checkMs ?? 10_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * For a service's main: when it serves TLS, its certificate files are watched and the server takes
 * renewed ones without a restart (cert-manager, or npm start's local CA). Returns the watch's stop.
 */
export function watchServerTls(env: Env, server: { reloadTls(tls: ServeTls): void }, log: { info(o: object, m: string): void; warn(o: object, m: string): void }): () => void {
  if (raw(env, "TLS_CERT_FILE") === undefined) return () => undefined;
  const w = watchTlsConfig(env, (tls) => {
    server.reloadTls(tls);
    log.info({ cert: raw(env, "TLS_CERT_FILE") }, "TLS certificate reloaded");
  }, { onError: (error) => log.warn({ error }, "TLS files changed but do not load; keeping the previous certificate") });
  return w.stop;
}
