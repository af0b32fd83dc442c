import { readFileSync } from "node:fs";
import { BlockList, isIPv4, isIPv6 } from "node:net";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { oneOf, type Parsed } from "../config.js";
import { isRole, type Role, type RoleBindings } from "./roles.js";
import type { IssuerConfig } from "./verify.js";

/** How a server authenticates its callers (docs/security.md). */
export type AuthConfig =
  /** AUTH=none: every caller is an operator; only on loopback (interceptor.ts checkAuthNone). */
  | { readonly mode: "none" }
  | {
      readonly mode: "jwt";
      readonly issuers: readonly IssuerConfig[];
      readonly bindings: RoleBindings;
      /** Identities whose x-hyperfleet-user header names the actor (a gateway acting for its users). */
      readonly trustedProxies: readonly string[];
    };

type Env = Record<string, string | undefined>;

const ISSUER_FIELDS = new Set(["issuer", "jwksUrl", "jwksFile", "audience", "identityClaim", "rolesClaim", "identityPrefix"]);
const TOP_FIELDS = new Set(["issuers", "bindings", "trustedProxies"]);
const BINDING_FIELDS = new Set(["identities", "claims"]);

/**
 * AUTH (jwt | none, default jwt), AUTH_CONFIG (a YAML or JSON file: issuers, bindings, trustedProxies)
 * and the single-issuer shortcut AUTH_ISSUER, AUTH_AUDIENCE (comma-separated), AUTH_JWKS_URL or
 * AUTH_JWKS_FILE, AUTH_IDENTITY_CLAIM, AUTH_ROLES_CLAIM. Every problem is named, by variable or by
 * the file's field path. `readText` reads AUTH_CONFIG (a parameter, so that tests need no file).
 */
export function authConfig(env: Env, readText: (path: string) => string = (p) => readFileSync(p, "utf8")): Parsed<AuthConfig> {
  const mode = oneOf(env, "AUTH", ["jwt", "none"], "jwt");
  if ("error" in mode) return mode;
  if (mode.value === "none") return { value: { mode: "none" } };
  const errors: string[] = [];
  const issuers: IssuerConfig[] = [];
  let bindings: RoleBindings = { identities: new Map(), claims: new Map() };
  let trustedProxies: string[] = [];

  const file = val(env, "AUTH_CONFIG");
  if (file !== undefined) {
    const where = `AUTH_CONFIG=${JSON.stringify(file)}`;
    let doc: unknown;
    try {
      doc = parse(readText(file));
    } catch (err) {
      errors.push(`${where}: ${(err as Error).message.split("\n")[0]}`);
    }
    if (doc !== undefined) {
      const parsed = fromFile(doc, dirname(resolve(file)));
      errors.push(...parsed.errors.map((e) => `${where}: ${e}`));
      issuers.push(...parsed.issuers);
      bindings = parsed.bindings;
      trustedProxies = parsed.trustedProxies;
    }
  }
  const shortcut = fromEnv(env);
  errors.push(...shortcut.errors);
  if (shortcut.issuer) issuers.push(shortcut.issuer);

  const seen = new Set<string>();
  for (const i of issuers) {
    if (seen.has(i.issuer)) errors.push(`issuer ${JSON.stringify(i.issuer)} is configured twice`);
    seen.add(i.issuer);
  }
  if (errors.length === 0 && issuers.length === 0) {
    errors.push("AUTH=jwt needs an issuer: set AUTH_ISSUER, AUTH_AUDIENCE and AUTH_JWKS_URL or AUTH_JWKS_FILE, or AUTH_CONFIG (or AUTH=none on loopback)");
  }
  if (errors.length > 0) return { error: errors.join("; ") };
  return { value: { mode: "jwt", issuers, bindings, trustedProxies } };
}

function val(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === "" ? undefined : v;
}

/** The issuer the AUTH_* shortcut describes, if any of its variables is set. */
function fromEnv(env: Env): { issuer?: IssuerConfig; errors: string[] } {
  const names = ["AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_JWKS_URL", "AUTH_JWKS_FILE", "AUTH_IDENTITY_CLAIM", "AUTH_ROLES_CLAIM"] as const;
  const v = Object.fromEntries(names.map((n) => [n, val(env, n)])) as Record<(typeof names)[number], string | undefined>;
  if (names.every((n) => v[n] === undefined)) return { errors: [] };
  const errors: string[] = [];
  if (v.AUTH_ISSUER === undefined) errors.push("AUTH_ISSUER: required when any AUTH_ISSUER/AUTH_AUDIENCE/AUTH_JWKS_* variable is set");
  const audience = (v.AUTH_AUDIENCE ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (audience.length === 0) errors.push("AUTH_AUDIENCE: required with AUTH_ISSUER (the audience its tokens carry for this service)");
  if ((v.AUTH_JWKS_URL === undefined) === (v.AUTH_JWKS_FILE === undefined)) errors.push("AUTH_JWKS_URL or AUTH_JWKS_FILE: exactly one is required with AUTH_ISSUER");
  const urlProblem = v.AUTH_JWKS_URL === undefined ? undefined : jwksUrlProblem(v.AUTH_JWKS_URL);
  if (urlProblem) errors.push(`AUTH_JWKS_URL=${JSON.stringify(v.AUTH_JWKS_URL)}: ${urlProblem}`);
  if (errors.length > 0) return { errors };
  const issuer: IssuerConfig = { issuer: v.AUTH_ISSUER!, audience, identityClaim: v.AUTH_IDENTITY_CLAIM ?? "sub" };
  if (v.AUTH_JWKS_URL !== undefined) issuer.jwksUrl = v.AUTH_JWKS_URL;
  if (v.AUTH_JWKS_FILE !== undefined) issuer.jwksFile = resolve(v.AUTH_JWKS_FILE);
  if (v.AUTH_ROLES_CLAIM !== undefined) issuer.rolesClaim = v.AUTH_ROLES_CLAIM;
  return { issuer, errors };
}

/** Keys are fetched over https: over plain http anyone on the path could substitute their own. Loopback is the exception. */
function jwksUrlProblem(s: string): string | undefined {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return "must be a URL";
  }
  if (u.protocol === "https:") return undefined;
  if (u.protocol === "http:" && isLoopbackHost(u.hostname)) return undefined;
  return "must be an https URL (http only on a loopback host)";
}

interface FromFile {
  issuers: IssuerConfig[];
  bindings: RoleBindings;
  trustedProxies: string[];
  errors: string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const nonEmpty = (v: unknown): v is string => typeof v === "string" && v.trim() !== "";

function unknownFields(o: Record<string, unknown>, known: Set<string>, path: string): string[] {
  return Object.keys(o)
    .filter((k) => !known.has(k))
    .map((k) => `${path}${path ? "." : ""}${k}: unknown field (expected one of ${[...known].join(", ")})`);
}

/** The file's contents, each problem with its field path (issuers[0].audience). Relative jwksFile paths are from the file's directory. */
function fromFile(doc: unknown, base: string): FromFile {
  const out: FromFile = { issuers: [], bindings: { identities: new Map(), claims: new Map() }, trustedProxies: [], errors: [] };
  const errors = out.errors;
  if (!isObject(doc)) {
    errors.push("must be a mapping with issuers, bindings and trustedProxies");
    return out;
  }
  errors.push(...unknownFields(doc, TOP_FIELDS, ""));
  const issuers = doc.issuers ?? [];
  if (!Array.isArray(issuers)) errors.push("issuers: must be a list");
  else
    issuers.forEach((raw, i) => {
      const at = `issuers[${i}]`;
      if (!isObject(raw)) return void errors.push(`${at}: must be a mapping`);
      errors.push(...unknownFields(raw, ISSUER_FIELDS, at));
      const bad = (field: string, why: string) => errors.push(`${at}.${field}: ${why}`);
      if (!nonEmpty(raw.issuer)) bad("issuer", "must be a non-empty string (the iss its tokens carry)");
      const aud = typeof raw.audience === "string" ? [raw.audience] : raw.audience;
      if (!Array.isArray(aud) || aud.length === 0 || !aud.every(nonEmpty)) bad("audience", "must be a non-empty string or list of strings");
      if ((raw.jwksUrl === undefined) === (raw.jwksFile === undefined)) bad("jwksUrl", "exactly one of jwksUrl and jwksFile is required");
      if (raw.jwksUrl !== undefined) {
        const p = nonEmpty(raw.jwksUrl) ? jwksUrlProblem(raw.jwksUrl) : "must be a URL";
        if (p) bad("jwksUrl", p);
      }
      if (raw.jwksFile !== undefined && !nonEmpty(raw.jwksFile)) bad("jwksFile", "must be a path");
      for (const f of ["identityClaim", "rolesClaim"] as const) if (raw[f] !== undefined && !nonEmpty(raw[f])) bad(f, "must be a claim name");
      if (raw.identityPrefix !== undefined && typeof raw.identityPrefix !== "string") bad("identityPrefix", "must be a string");
      if (errors.length > 0) return;
      const cfg: IssuerConfig = { issuer: raw.issuer as string, audience: aud as string[], identityClaim: (raw.identityClaim as string | undefined) ?? "sub" };
      if (raw.jwksUrl !== undefined) cfg.jwksUrl = raw.jwksUrl as string;
      if (raw.jwksFile !== undefined) cfg.jwksFile = resolve(base, raw.jwksFile as string);
      if (raw.rolesClaim !== undefined) cfg.rolesClaim = raw.rolesClaim as string;
      if (raw.identityPrefix !== undefined) cfg.identityPrefix = raw.identityPrefix as string;
      out.issuers.push(cfg);
    });

  const b = doc.bindings ?? {};
  if (!isObject(b)) errors.push("bindings: must be a mapping with identities and claims");
  else {
    errors.push(...unknownFields(b, BINDING_FIELDS, "bindings"));
    out.bindings = { identities: roleMap(b.identities, "bindings.identities", errors), claims: roleMap(b.claims, "bindings.claims", errors) };
  }

  const tp = doc.trustedProxies ?? [];
  if (!Array.isArray(tp) || !tp.every(nonEmpty)) errors.push("trustedProxies: must be a list of identities");
  else out.trustedProxies = tp;
  return out;
}

/** `{ "<identity or claim value>": [role, ...] }`, every role checked (a typo must not silently grant nothing, or the wrong thing). */
function roleMap(v: unknown, path: string, errors: string[]): Map<string, Role[]> {
  const out = new Map<string, Role[]>();
  if (v === undefined) return out;
  if (!isObject(v)) {
    errors.push(`${path}: must be a mapping from an identity or claim value to a list of roles`);
    return out;
  }
  for (const [k, roles] of Object.entries(v)) {
    const list = typeof roles === "string" ? [roles] : roles;
    if (!Array.isArray(list)) {
      errors.push(`${path}.${k}: must be a list of roles`);
      continue;
    }
    const bad = list.filter((r) => typeof r !== "string" || !isRole(r));
    if (bad.length > 0) errors.push(`${path}.${k}: unknown role ${bad.map((r) => JSON.stringify(r)).join(", ")} (roles: reader, user, sentinel, operator, adapter:<name>)`);
    else out.set(k, list as Role[]);
  }
  return out;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** 127.0.0.0/8, ::1 (in any spelling, IPv4-mapped too) and localhost: the addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost") return true;
  if (isIPv4(h)) return LOOPBACK.check(h, "ipv4");
  return isIPv6(h) && LOOPBACK.check(h, "ipv6");
}
