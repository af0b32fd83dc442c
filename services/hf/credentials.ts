/**
 * Where hf's bearer token (and, for https, the CA to trust) comes from: flags, environment, or the
 * credentials file that `npm start` writes. Parsing is pure; reading files happens only at the edges
 * (readText, saveCredentials), and no message ever contains a token.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";

/** One API server's entry: a token inline or in a file read at each run (npm start rewrites it as it renews), and a CA. */
export interface CredentialEntry {
  token?: string;
  tokenFile?: string;
  caFile?: string;
}

/** What hf sends: the token, where it came from (for messages, never the token itself), and the CA for https. */
export interface ResolvedCredentials {
  token?: string;
  /** `--token`, `HF_TOKEN`, `--token-file PATH`, `HF_TOKEN_FILE=PATH`, the credentials file's path, or `none`. */
  source: string;
  caFile?: string;
  /** `--ca`, `HF_CA`, or the credentials file's path; set with caFile. */
  caSource?: string;
}

export interface ResolveOptions {
  apiUrl: string;
  flagToken?: string;
  flagTokenFile?: string;
  flagCa?: string;
  env: Record<string, string | undefined>;
  /** Reads a file as text (default readFileSync); throws with `code` ENOENT for a missing file. */
  readText?: (path: string) => string;
}

const VERSION = 1;
const ENTRY_FIELDS = new Set(["token", "tokenFile", "caFile"]);
/** A header value carries visible ASCII only: a token with spaces or control characters is refused here, not by the HTTP stack. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/** The credentials file: `$HF_CREDENTIALS`, else `$HOME/.hyperfleet/credentials.json`. */
export function credentialsPath(env: Record<string, string | undefined>): string {
  if (env.HF_CREDENTIALS) return env.HF_CREDENTIALS;
  return join(env.HOME || homedir(), ".hyperfleet", "credentials.json");
}

/**
 * The key an API base URL has in the credentials file: lowercase scheme and host, default port
 * dropped, no trailing slash (query and fragment dropped). Undefined unless it is an http(s) URL.
 */
export function normaliseApiUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    return undefined;
  }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.host === "") return undefined;
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
}

/** The servers of a credentials file's text, keyed by normalised URL, or what is wrong with it (named by field path, prefixed by `path`). */
export function parseCredentials(text: string, path: string): { servers: Map<string, CredentialEntry> } | { error: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // V8's message may quote the text around the fault, which can be a token: only the position is kept.
    const where = /at position \d+(?: \(line \d+ column \d+\))?/.exec((err as Error).message);
    return { error: `${path}: not valid JSON${where ? ` (${where[0]})` : ""}` };
  }
  if (!isObject(doc)) return { error: `${path}: expected a JSON object with "version" and "servers"` };
  if (doc.version !== VERSION) return { error: `${path}: "version" must be ${VERSION} (found ${doc.version === undefined ? "none" : JSON.stringify(doc.version)})` };
  for (const k of Object.keys(doc)) if (k !== "version" && k !== "servers") return { error: `${path}: unknown field ${JSON.stringify(k)}` };
  const servers = new Map<string, CredentialEntry>();
  if (doc.servers === undefined) return { servers };
  if (!isObject(doc.servers)) return { error: `${path}: "servers" must be an object of API URL to entry` };
  const keyOf = new Map<string, string>();
  for (const [key, value] of Object.entries(doc.servers)) {
    const at = `${path}: servers[${JSON.stringify(key)}]`;
    const url = normaliseApiUrl(key);
    if (url === undefined) return { error: `${at}: the key must be an http:// or https:// URL` };
    if (keyOf.has(url)) return { error: `${at}: the same server as servers[${JSON.stringify(keyOf.get(url))}]` };
    keyOf.set(url, key);
    const entry = checkEntry(value);
    if ("error" in entry) return { error: `${at}${entry.error}` };
    servers.set(url, entry.entry);
  }
  return { servers };
}

/** An entry's shape, or its first problem as `.field: what` (a message that never quotes a token). */
function checkEntry(value: unknown): { entry: CredentialEntry } | { error: string } {
  if (!isObject(value)) return { error: ": must be an object with token or tokenFile, and optionally caFile" };
  for (const k of Object.keys(value)) if (!ENTRY_FIELDS.has(k)) return { error: `: unknown field ${JSON.stringify(k)} (expected token, tokenFile, caFile)` };
  const entry: CredentialEntry = {};
  for (const k of ["token", "tokenFile", "caFile"] as const) {
    const v = value[k];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.trim() === "") return { error: `.${k}: must be a non-empty string` };
    if (k !== "token" && !isAbsolute(v)) return { error: `.${k}: must be an absolute path (found ${JSON.stringify(v)})` };
    if (k === "token" && !TOKEN_CHARS.test(v.trim())) return { error: ".token: has spaces or characters a header cannot carry" };
    entry[k] = k === "token" ? v.trim() : v;
  }
  if (entry.token !== undefined && entry.tokenFile !== undefined) return { error: ": has both token and tokenFile (give one)" };
  return { entry };
}

/**
 * The token and CA for `apiUrl`. Token: `--token` > `HF_TOKEN` > `--token-file` > `HF_TOKEN_FILE` >
 * the credentials file's entry for the URL. CA: `--ca` > `HF_CA` > the entry's caFile. A missing
 * credentials file means no credentials; a malformed one, or a token file that cannot be read, is an
 * error naming the file and the problem. The file is not read when flags and environment say everything.
 */
export function resolveCredentials(opts: ResolveOptions): ResolvedCredentials | { error: string } {
  const readText = opts.readText ?? ((p: string) => readFileSync(p, "utf8"));
  const { env } = opts;
  const api = normaliseApiUrl(opts.apiUrl);
  if (api === undefined) return { error: `API URL ${JSON.stringify(opts.apiUrl)}: expected an http:// or https:// URL` };

  let found: { token: string; source: string } | { error: string } | undefined;
  if (opts.flagToken !== undefined) found = literalToken(opts.flagToken, "--token");
  else if (env.HF_TOKEN) found = literalToken(env.HF_TOKEN, "HF_TOKEN");
  else if (opts.flagTokenFile !== undefined) found = opts.flagTokenFile === "" ? { error: "--token-file: needs a path" } : tokenFromFile(readText, opts.flagTokenFile, `--token-file ${opts.flagTokenFile}`);
  else if (env.HF_TOKEN_FILE) found = tokenFromFile(readText, env.HF_TOKEN_FILE, `HF_TOKEN_FILE=${env.HF_TOKEN_FILE}`);
  if (found && "error" in found) return found;

  let ca: { caFile: string; caSource: string } | undefined;
  if (opts.flagCa !== undefined) {
    if (opts.flagCa === "") return { error: "--ca: needs a path" };
    ca = { caFile: opts.flagCa, caSource: "--ca" };
  } else if (env.HF_CA) ca = { caFile: env.HF_CA, caSource: "HF_CA" };

  if (found === undefined || (ca === undefined && api.startsWith("https:"))) {
    const path = credentialsPath(env);
    const file = readCredentials(readText, path);
    if ("error" in file) return file;
    const entry = file.servers.get(api);
    if (entry && found === undefined) {
      if (entry.token !== undefined) found = { token: entry.token, source: path };
      else if (entry.tokenFile !== undefined) found = tokenFromFile(readText, entry.tokenFile, `${path}: servers[${JSON.stringify(api)}].tokenFile ${entry.tokenFile}`, path);
      if (found && "error" in found) return found;
    }
    if (entry?.caFile !== undefined && ca === undefined) ca = { caFile: entry.caFile, caSource: path };
  }
  return { ...(found ?? { source: "none" }), ...ca };
}

/**
 * Writes `entry` as the credentials of `apiUrl` into the file at `path`, keeping the other servers'
 * entries: the directory is created 0700, and the file is written whole to a temporary file (0600)
 * and renamed into place, so that a reader never sees half of it. Throws, leaving the file as it was,
 * if the existing file is malformed or the entry is invalid.
 */
export function saveCredentials(path: string, apiUrl: string, entry: CredentialEntry): void {
  const api = normaliseApiUrl(apiUrl);
  if (api === undefined) throw new Error(`saveCredentials: ${JSON.stringify(apiUrl)} is not an http:// or https:// URL`);
  const checked = checkEntry(Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)));
  if ("error" in checked) throw new Error(`saveCredentials: the entry for ${api}${checked.error}`);
  const file = readCredentials((p) => readFileSync(p, "utf8"), path);
  if ("error" in file) throw new Error(file.error);
  file.servers.set(api, checked.entry);
  const text = `${JSON.stringify({ version: VERSION, servers: Object.fromEntries(file.servers) }, null, 2)}\n`;

  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    try {
      fchmodSync(fd, 0o600);
      writeFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The credentials file's servers; a missing file has none. */
function readCredentials(readText: (p: string) => string, path: string): { servers: Map<string, CredentialEntry> } | { error: string } {
  let text: string;
  try {
    text = readText(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { servers: new Map() };
    return { error: `${path}: cannot read (${reason(err)})` };
  }
  return parseCredentials(text, path);
}

function literalToken(value: string, source: string): { token: string; source: string } | { error: string } {
  const token = value.trim();
  if (token === "") return { error: `${source}: the token is empty` };
  if (!TOKEN_CHARS.test(token)) return { error: `${source}: the token has spaces or characters a header cannot carry` };
  return { token, source };
}

function tokenFromFile(readText: (p: string) => string, file: string, label: string, source = label): { token: string; source: string } | { error: string } {
  let text: string;
  try {
    text = readText(file);
  } catch (err) {
    return { error: `${label}: cannot read the token file (${reason(err)})` };
  }
  const out = literalToken(text, label);
  return "error" in out ? out : { token: out.token, source };
}

function reason(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
