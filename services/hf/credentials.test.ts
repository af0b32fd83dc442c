import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentialsPath, normaliseApiUrl, parseCredentials, resolveCredentials, saveCredentials, type ResolveOptions } from "./credentials.js";

/** A token that must never show in a message. */
const SECRET = "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0.s3cret-signature";
const API = "http://127.0.0.1:8000";
const CREDS = "/home/u/.hyperfleet/credentials.json";
const env = { HOME: "/home/u" };

/** readText over an in-memory directory; every path read is recorded. */
function files(contents: Record<string, string | NodeJS.ErrnoException>) {
  const read: string[] = [];
  const readText = (p: string) => {
    read.push(p);
    const c = contents[p];
    if (c === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${p}'`), { code: "ENOENT" });
    if (typeof c !== "string") throw c;
    return c;
  };
  return { read, readText };
}
const credsFile = (servers: Record<string, unknown>) => JSON.stringify({ version: 1, servers });
const resolve = (o: Partial<ResolveOptions>, contents: Record<string, string | NodeJS.ErrnoException>) => resolveCredentials({ apiUrl: API, env, ...o, readText: files(contents).readText });

describe("normaliseApiUrl: the credentials file's key for an API base URL", () => {
  test.each([
    ["already normal", "http://127.0.0.1:8000", "http://127.0.0.1:8000"],
    ["trailing slash dropped", "http://127.0.0.1:8000/", "http://127.0.0.1:8000"],
    ["several trailing slashes dropped", "http://127.0.0.1:8000///", "http://127.0.0.1:8000"],
    ["scheme and host lowercased", "HTTP://LocalHost:8000", "http://localhost:8000"],
    ["http's default port dropped", "http://api.example.com:80/", "http://api.example.com"],
    ["https's default port dropped", "https://api.example.com:443", "https://api.example.com"],
    ["another port kept", "https://api.example.com:8443/", "https://api.example.com:8443"],
    ["the path kept, case included", "https://Example.COM/Fleet/v1/", "https://example.com/Fleet/v1"],
    ["IPv6 literal", "http://[::1]:8000/", "http://[::1]:8000"],
    ["surrounding spaces ignored", " http://127.0.0.1:8000 ", "http://127.0.0.1:8000"],
    ["query and fragment dropped", "http://h:1/?a=1#x", "http://h:1"],
    ["not http(s)", "ftp://example.com", undefined],
    ["no scheme", "127.0.0.1:8000", undefined],
    ["a host-like scheme", "localhost:8000", undefined],
    ["not a URL", "not a url", undefined],
  ])("%s: %j → %j", (_rule, url, expected) => {
    expect(normaliseApiUrl(url)).toBe(expected);
  });
});

describe("credentialsPath", () => {
  test.each([
    ["HF_CREDENTIALS wins", { HF_CREDENTIALS: "/etc/hf.json", HOME: "/home/u" }, "/etc/hf.json"],
    ["else under HOME", { HOME: "/home/u" }, "/home/u/.hyperfleet/credentials.json"],
    ["an empty HF_CREDENTIALS counts as unset", { HF_CREDENTIALS: "", HOME: "/home/u" }, "/home/u/.hyperfleet/credentials.json"],
  ])("%s", (_rule, e, expected) => {
    expect(credentialsPath(e)).toBe(expected);
  });

  test("without HOME: the user's home directory", () => {
    expect(credentialsPath({})).toMatch(/\/\.hyperfleet\/credentials\.json$/);
  });
});

describe("resolveCredentials: which token and CA hf uses", () => {
  const all = {
    "/t/flag.token": "from-flag-file\n",
    "/t/env.token": "from-env-file\n",
    "/t/entry.token": "from-entry-file\n",
    [CREDS]: credsFile({ [API]: { tokenFile: "/t/entry.token", caFile: "/t/entry-ca.crt" }, "https://other.example": { token: "other-token" } }),
  };
  test.each<[string, Partial<ResolveOptions>, Record<string, string>, { token?: string; source: string }]>([
    ["--token beats everything", { flagToken: "from-flag", flagTokenFile: "/t/flag.token", env: { ...env, HF_TOKEN: "from-env", HF_TOKEN_FILE: "/t/env.token" } }, all, { token: "from-flag", source: "--token" }],
    ["HF_TOKEN beats --token-file, HF_TOKEN_FILE and the file", { flagTokenFile: "/t/flag.token", env: { ...env, HF_TOKEN: "from-env", HF_TOKEN_FILE: "/t/env.token" } }, all, { token: "from-env", source: "HF_TOKEN" }],
    ["--token-file beats HF_TOKEN_FILE and the file", { flagTokenFile: "/t/flag.token", env: { ...env, HF_TOKEN_FILE: "/t/env.token" } }, all, { token: "from-flag-file", source: "--token-file /t/flag.token" }],
    ["HF_TOKEN_FILE beats the file", { env: { ...env, HF_TOKEN_FILE: "/t/env.token" } }, all, { token: "from-env-file", source: "HF_TOKEN_FILE=/t/env.token" }],
    ["the file's entry for the API: its tokenFile, read now", {}, all, { token: "from-entry-file", source: CREDS }],
    ["the file's inline token", {}, { [CREDS]: credsFile({ [API]: { token: "inline" } }) }, { token: "inline", source: CREDS }],
    ["the entry is found whatever the spelling of --api", { apiUrl: "HTTP://127.0.0.1:8000/" }, all, { token: "from-entry-file", source: CREDS }],
    ["the entry is found whatever the spelling of its key", {}, { [CREDS]: credsFile({ "http://127.0.0.1:8000/": { token: "inline" } }) }, { token: "inline", source: CREDS }],
    ["the file comes from HF_CREDENTIALS", { env: { HF_CREDENTIALS: "/c.json" } }, { "/c.json": credsFile({ [API]: { token: "elsewhere" } }) }, { token: "elsewhere", source: "/c.json" }],
    ["another API's entry is not used", { apiUrl: "http://127.0.0.1:9000" }, all, { source: "none" }],
    ["a default port matches the entry without one", { apiUrl: "https://other.example:443" }, all, { token: "other-token", source: CREDS }],
    ["no credentials file: no token", {}, {}, { source: "none" }],
    ["an empty HF_TOKEN counts as unset", { env: { ...env, HF_TOKEN: "" } }, all, { token: "from-entry-file", source: CREDS }],
    ["tokens are trimmed", { flagToken: "  padded\n" }, {}, { token: "padded", source: "--token" }],
  ])("%s", (_rule, o, contents, expected) => {
    const r = resolve(o, contents);
    expect(r).toMatchObject(expected);
    if (expected.token === undefined) expect(r).not.toHaveProperty("token");
  });

  test.each<[string, Partial<ResolveOptions>, { caFile?: string; caSource?: string }]>([
    ["--ca beats HF_CA and the entry", { flagCa: "/flag-ca.crt", env: { ...env, HF_CA: "/env-ca.crt" } }, { caFile: "/flag-ca.crt", caSource: "--ca" }],
    ["HF_CA beats the entry", { env: { ...env, HF_CA: "/env-ca.crt" } }, { caFile: "/env-ca.crt", caSource: "HF_CA" }],
    ["the entry's caFile", {}, { caFile: "/t/entry-ca.crt", caSource: CREDS }],
    ["the entry's caFile also with a token from a flag, for https", { apiUrl: "https://api.example", flagToken: "t" }, { caFile: "/https-ca.crt", caSource: CREDS }],
    ["none", { apiUrl: "http://127.0.0.1:9000" }, {}],
  ])("CA: %s", (_rule, o, expected) => {
    const contents = { ...all, [CREDS]: credsFile({ [API]: { tokenFile: "/t/entry.token", caFile: "/t/entry-ca.crt" }, "https://api.example": { caFile: "/https-ca.crt" } }) };
    const r = resolve(o, contents);
    expect(r).toMatchObject(expected);
    if (expected.caFile === undefined) expect(r).not.toHaveProperty("caFile");
  });

  test("flags and environment that say everything: the credentials file is not read (a broken one does not matter)", () => {
    const f = files({ [CREDS]: "{broken" });
    expect(resolveCredentials({ apiUrl: API, flagToken: "t", env, readText: f.readText })).toEqual({ token: "t", source: "--token" });
    expect(resolveCredentials({ apiUrl: "https://api.example", env: { ...env, HF_TOKEN: "t", HF_CA: "/ca.crt" }, readText: f.readText })).toEqual({ token: "t", source: "HF_TOKEN", caFile: "/ca.crt", caSource: "HF_CA" });
    expect(f.read).toEqual([]);
  });

  test("a token file is read at every resolution (npm start rewrites it as it renews the token)", () => {
    const contents: Record<string, string> = { [CREDS]: credsFile({ [API]: { tokenFile: "/t/user.token" } }), "/t/user.token": "first\n" };
    expect(resolve({}, contents)).toMatchObject({ token: "first" });
    contents["/t/user.token"] = "renewed\n";
    expect(resolve({}, contents)).toMatchObject({ token: "renewed" });
  });
});

describe("resolveCredentials: errors name the file and the problem, never the token", () => {
  const eacces = Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
  test.each<[string, Partial<ResolveOptions>, Record<string, string | NodeJS.ErrnoException>, RegExp]>([
    ["not JSON (the text holds a token)", {}, { [CREDS]: `{"version":1,"servers":{"${API}":{"token":"${SECRET}",}}}` }, /^\/home\/u\/\.hyperfleet\/credentials\.json: not valid JSON \(at position \d+/],
    ["not JSON, no position", {}, { [CREDS]: SECRET }, /^\/home\/u\/\.hyperfleet\/credentials\.json: not valid JSON$/],
    ["not an object", {}, { [CREDS]: "[1]" }, /credentials\.json: expected a JSON object with "version" and "servers"$/],
    ["another version", {}, { [CREDS]: JSON.stringify({ version: 2, servers: {} }) }, /credentials\.json: "version" must be 1 \(found 2\)$/],
    ["no version", {}, { [CREDS]: JSON.stringify({ servers: {} }) }, /credentials\.json: "version" must be 1 \(found none\)$/],
    ["an unknown top-level field", {}, { [CREDS]: JSON.stringify({ version: 1, servers: {}, token: SECRET }) }, /credentials\.json: unknown field "token"$/],
    ["servers not an object", {}, { [CREDS]: JSON.stringify({ version: 1, servers: [] }) }, /credentials\.json: "servers" must be an object of API URL to entry$/],
    ["a key that is not a URL", {}, { [CREDS]: credsFile({ "127.0.0.1:8000": { token: SECRET } }) }, /credentials\.json: servers\["127\.0\.0\.1:8000"\]: the key must be an http:\/\/ or https:\/\/ URL$/],
    ["two keys for one server", {}, { [CREDS]: credsFile({ [API]: { token: SECRET }, [`${API}/`]: { token: SECRET } }) }, /servers\["http:\/\/127\.0\.0\.1:8000\/"\]: the same server as servers\["http:\/\/127\.0\.0\.1:8000"\]$/],
    ["an entry that is not an object", {}, { [CREDS]: credsFile({ [API]: SECRET }) }, /servers\["http:\/\/127\.0\.0\.1:8000"\]: must be an object with token or tokenFile, and optionally caFile$/],
    ["an unknown entry field (a typo)", {}, { [CREDS]: credsFile({ [API]: { tokenfile: "/t" } }) }, /servers\["http:\/\/127\.0\.0\.1:8000"\]: unknown field "tokenfile" \(expected token, tokenFile, caFile\)$/],
    ["token and tokenFile both", {}, { [CREDS]: credsFile({ [API]: { token: SECRET, tokenFile: "/t" } }) }, /servers\["http:\/\/127\.0\.0\.1:8000"\]: has both token and tokenFile \(give one\)$/],
    ["a token that is not a string", {}, { [CREDS]: credsFile({ [API]: { token: 42 } }) }, /servers\["http:\/\/127\.0\.0\.1:8000"\]\.token: must be a non-empty string$/],
    ["a token a header cannot carry", {}, { [CREDS]: credsFile({ [API]: { token: `${SECRET} x` } }) }, /\.token: has spaces or characters a header cannot carry$/],
    ["a relative tokenFile", {}, { [CREDS]: credsFile({ [API]: { tokenFile: "user.token" } }) }, /\.tokenFile: must be an absolute path \(found "user\.token"\)$/],
    ["a relative caFile", {}, { [CREDS]: credsFile({ [API]: { caFile: "ca.crt" } }) }, /\.caFile: must be an absolute path \(found "ca\.crt"\)$/],
    ["an unreadable credentials file", {}, { [CREDS]: eacces }, /^\/home\/u\/\.hyperfleet\/credentials\.json: cannot read \(EACCES\)$/],
    ["the entry's token file is missing", {}, { [CREDS]: credsFile({ [API]: { tokenFile: "/t/gone.token" } }) }, /credentials\.json: servers\["http:\/\/127\.0\.0\.1:8000"\]\.tokenFile \/t\/gone\.token: cannot read the token file \(ENOENT\)$/],
    ["the entry's token file is empty", {}, { [CREDS]: credsFile({ [API]: { tokenFile: "/t/empty.token" } }), "/t/empty.token": "\n" }, /\.tokenFile \/t\/empty\.token: the token is empty$/],
    ["--token-file is missing", { flagTokenFile: "/t/gone.token" }, {}, /^--token-file \/t\/gone\.token: cannot read the token file \(ENOENT\)$/],
    ["--token-file holds two lines", { flagTokenFile: "/t/two.token" }, { "/t/two.token": `${SECRET}\n${SECRET}\n` }, /^--token-file \/t\/two\.token: the token has spaces or characters a header cannot carry$/],
    ["HF_TOKEN_FILE is unreadable", { env: { ...env, HF_TOKEN_FILE: "/t/locked.token" } }, { "/t/locked.token": eacces }, /^HF_TOKEN_FILE=\/t\/locked\.token: cannot read the token file \(EACCES\)$/],
    ["an empty --token", { flagToken: "" }, {}, /^--token: the token is empty$/],
    ["an empty --token-file", { flagTokenFile: "" }, {}, /^--token-file: needs a path$/],
    ["an empty --ca", { flagToken: "t", flagCa: "" }, {}, /^--ca: needs a path$/],
    ["HF_TOKEN with a space", { env: { ...env, HF_TOKEN: `Bearer ${SECRET}` } }, {}, /^HF_TOKEN: the token has spaces or characters a header cannot carry$/],
    ["an API URL that is not http(s)", { apiUrl: "ftp://x" }, {}, /^API URL "ftp:\/\/x": expected an http:\/\/ or https:\/\/ URL$/],
  ])("%s", (_rule, o, contents, message) => {
    const r = resolve(o, contents);
    expect(r).toEqual({ error: expect.stringMatching(message) });
    expect((r as { error: string }).error).not.toContain("s3cret");
    expect((r as { error: string }).error).not.toMatch(/\n\s+at /);
  });

  test("parseCredentials: a file with no servers yet is valid", () => {
    expect(parseCredentials('{"version":1}', "/c.json")).toEqual({ servers: new Map() });
  });
});

describe("saveCredentials", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "hf-credentials-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const read = (p: string) => JSON.parse(readFileSync(p, "utf8")) as unknown;
  const mode = (p: string) => statSync(p).mode & 0o777;

  test("creates the directory 0700 and the file 0600, keyed by the normalised URL", () => {
    const path = join(dir, "a", "b", "credentials.json");
    saveCredentials(path, "HTTP://127.0.0.1:8000/", { tokenFile: "/t/user.token", caFile: "/t/ca.crt" });
    expect(read(path)).toEqual({ version: 1, servers: { [API]: { tokenFile: "/t/user.token", caFile: "/t/ca.crt" } } });
    expect(mode(join(dir, "a"))).toBe(0o700);
    expect(mode(join(dir, "a", "b"))).toBe(0o700);
    expect(mode(path)).toBe(0o600);
  });

  test("merges: other servers' entries are kept, this server's entry (however its key was spelt) replaced whole", () => {
    const path = join(dir, "credentials.json");
    writeFileSync(path, credsFile({ "https://other.example:443/": { token: "keep-me", caFile: "/o/ca.crt" }, [`${API}/`]: { token: "old", caFile: "/old/ca.crt" } }), { mode: 0o644 });
    saveCredentials(path, API, { tokenFile: "/t/user.token", token: undefined });
    expect(read(path)).toEqual({ version: 1, servers: { "https://other.example": { token: "keep-me", caFile: "/o/ca.crt" }, [API]: { tokenFile: "/t/user.token" } } });
    expect(mode(path)).toBe(0o600);
  });

  test("atomic: the new file is renamed into place (a reader holding the old one sees it whole), and no temporary file is left", () => {
    const path = join(dir, "credentials.json");
    saveCredentials(path, API, { token: "first" });
    linkSync(path, join(dir, "old-link"));
    saveCredentials(path, "http://127.0.0.1:9000", { token: "second" });
    expect(read(join(dir, "old-link"))).toEqual({ version: 1, servers: { [API]: { token: "first" } } });
    expect(read(path)).toEqual({ version: 1, servers: { [API]: { token: "first" }, "http://127.0.0.1:9000": { token: "second" } } });
    expect(readdirSync(dir).sort()).toEqual(["credentials.json", "old-link"]);
  });

  test("a malformed existing file is not overwritten: the error names it", () => {
    const path = join(dir, "credentials.json");
    writeFileSync(path, "{not json");
    expect(() => saveCredentials(path, API, { token: "t" })).toThrow(`${path}: not valid JSON`);
    expect(readFileSync(path, "utf8")).toBe("{not json");
    expect(readdirSync(dir)).toEqual(["credentials.json"]);
  });

  test.each([
    ["token and tokenFile both", API, { token: "t", tokenFile: "/t" }, /the entry for http:\/\/127\.0\.0\.1:8000: has both token and tokenFile/],
    ["a relative tokenFile", API, { tokenFile: "user.token" }, /\.tokenFile: must be an absolute path/],
    ["a token a header cannot carry", API, { token: "a b" }, /\.token: has spaces or characters a header cannot carry/],
    ["a URL that is not http(s)", "127.0.0.1:8000", { token: "t" }, /"127\.0\.0\.1:8000" is not an http:\/\/ or https:\/\/ URL/],
  ])("refuses an invalid entry: %s", (_rule, url, entry, message) => {
    const path = join(dir, "credentials.json");
    expect(() => saveCredentials(path, url, entry)).toThrow(message);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("what npm start saves is what hf resolves, the token file read at each run", () => {
    const path = join(dir, "credentials.json");
    mkdirSync(join(dir, "tokens"));
    writeFileSync(join(dir, "tokens", "user.token"), "jwt-1\n", { mode: 0o600 });
    saveCredentials(path, API, { tokenFile: join(dir, "tokens", "user.token") });
    const e = { HF_CREDENTIALS: path };
    expect(resolveCredentials({ apiUrl: `${API}/`, env: e })).toEqual({ token: "jwt-1", source: path });
    writeFileSync(join(dir, "tokens", "user.token"), "jwt-2\n");
    expect(resolveCredentials({ apiUrl: API, env: e })).toEqual({ token: "jwt-2", source: path });
  });
});
