import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type ContextValues, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { peerIdentityOf } from "../rpc/peer.js";
import { isLoopbackHost, type AuthConfig } from "./auth-config.js";
import { accessOf, authorize, authorizeMethod, NO_BINDINGS, resolveRoles, type Decision, type Principal, type RoleBindings } from "./roles.js";
import { createTokenVerifier, type TokenVerifier, type VerifiedToken, type VerifierOptions, type VerifyFailure } from "./verify.js";

/** The authenticated caller of this call, for handlers (`principalOf(ctx.values)`). Unset on open methods (health). */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "the authenticated caller" });

export function principalOf(values: ContextValues): Principal | undefined {
  return values.get(principalKey);
}

/** The header a trusted proxy uses to name the user it acts for (created_by/updated_by/deleted_by). */
export const ACTOR_HEADER = "x-hyperfleet-user";

/**
 * Who made a change: the caller's own identity, or the user a trusted proxy names in x-hyperfleet-user.
 * Anyone else's header is ignored, so that nobody can write changes under another name.
 */
export function actorFrom(values: ContextValues, headers: Headers, trustedProxies: Iterable<string>): string {
  const p = principalOf(values);
  if (!p) return "anonymous";
  if (!new Set(trustedProxies).has(p.identity)) return p.identity;
  const v = headers.get(ACTOR_HEADER)?.trim();
  return v ? v.slice(0, 256) : p.identity;
}

/** What a server installs: the interceptor (every call, every protocol) and, optionally, a request gate that refuses before the body is read. */
export interface Authenticator {
  /** Authenticates (unless the gate did) and authorises every call, the request message included. */
  readonly interceptor: Interceptor;
  /**
   * For createRpcServer's `requestGate`: authenticates and checks the method before the body is read,
   * so an anonymous caller cannot make the server read a large body. Optional: the interceptor alone suffices.
   */
  readonly requestGate: (ctx: HandlerContext) => Promise<void>;
  /** For actorFrom. */
  readonly trustedProxies: readonly string[];
}

/** Where refusals are logged (pino's Logger fits): the reason goes to the log, never to the caller. */
export interface AuthLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const SILENT: AuthLog = { info: () => undefined, warn: () => undefined };

export interface JwtAuthOptions {
  verifier: TokenVerifier;
  bindings?: RoleBindings;
  trustedProxies?: readonly string[];
  log?: AuthLog;
}

/** Caller-facing messages: the same few words whatever was wrong, so that a prober learns nothing. */
const MISSING = "authentication required";
const INVALID = "invalid credentials";

/** The issuer of a principal proven by a client certificate (mTLS) rather than a token. */
export const X509_ISSUER = "x509";

/**
 * Every call authenticated by a bearer JWT, or without one by the verified client certificate the
 * server's mTLS put in its context (rpc/peer.ts), and authorised by role (roles.ts); health stays open.
 * A token present wins over the certificate, valid or not: a caller chooses its credential, and a bad
 * token is never quietly replaced by the connection's identity.
 */
export function createJwtAuth(opts: JwtAuthOptions): Authenticator {
  const bindings = opts.bindings ?? NO_BINDINGS;
  const log = opts.log ?? SILENT;
  // The verifier hands back the same object for a cached token: its roles are resolved once.
  const principals = new WeakMap<VerifiedToken, Principal>();

  async function authenticate(method: string, header: Headers, values: ContextValues): Promise<Principal> {
    const authorization = header.get("authorization");
    if (authorization === null) {
      const peer = peerIdentityOf(values);
      if (peer !== undefined) return { identity: peer, issuer: X509_ISSUER, roles: resolveRoles(peer, [], bindings) };
    }
    const out = await opts.verifier.verify(authorization);
    if (!out.ok) {
      if (out.reason === "keys_unavailable") {
        log.warn({ method, reason: out.reason, err: out.cause }, "call not authenticated: the issuer's keys are unavailable");
        throw new ConnectError("authentication is temporarily unavailable; retry later", Code.Unavailable);
      }
      log.info({ method, reason: out.reason }, "call not authenticated");
      throw new ConnectError(out.reason === "missing" ? MISSING : INVALID, Code.Unauthenticated);
    }
    let p = principals.get(out.token);
    if (!p) {
      p = { identity: out.token.identity, issuer: out.token.issuer, roles: resolveRoles(out.token.identity, out.token.claimRoles, bindings) };
      principals.set(out.token, p);
    }
    return p;
  }

  const check = (method: string, p: Principal, d: Decision) => {
    if (d.ok) return;
    log.info({ method, identity: p.identity, reason: d.reason }, "call not authorised");
    throw new ConnectError(d.reason === "other_adapter" ? "permission denied: an adapter reports only under its own name" : `permission denied for ${method}`, Code.PermissionDenied);
  };

  return {
    trustedProxies: opts.trustedProxies ?? [],
    async requestGate(ctx) {
      const method = methodName(ctx.method);
      if (accessOf(method)?.kind === "open") return;
      const p = await authenticate(method, ctx.requestHeader, ctx.values);
      ctx.values.set(principalKey, p);
      check(method, p, authorizeMethod(method, p));
    },
    interceptor: (next) => async (req) => {
      const method = methodName(req.method);
      // Unauthenticated callers hear Unauthenticated even for a method nobody may call: a scanner learns nothing.
      if (accessOf(method)?.kind === "open") return next(req);
      let p = req.contextValues.get(principalKey);
      if (!p) {
        p = await authenticate(method, req.header, req.contextValues);
        req.contextValues.set(principalKey, p);
      }
      check(method, p, authorize(method, p, req.stream ? undefined : req.message));
      return next(req);
    },
  };
}

/** The caller under AUTH=none: anyone who can reach the loopback port, with every right. */
export const ANONYMOUS: Principal = { identity: "anonymous", issuer: "none", roles: ["operator"] };

/** AUTH=none: every call is ANONYMOUS's (an operator). Only for a server checkAuthNone allowed. */
export function createNoAuth(): Authenticator {
  const set = (values: ContextValues) => {
    if (!values.get(principalKey)) values.set(principalKey, ANONYMOUS);
  };
  return {
    trustedProxies: [],
    async requestGate(ctx) {
      set(ctx.values);
    },
    interceptor: (next) => async (req) => {
      set(req.contextValues);
      return next(req);
    },
  };
}

/** Logged at startup, at warn, by every server running with AUTH=none. */
export const AUTH_NONE_WARNING =
  "AUTH=none: AUTHENTICATION IS OFF. Every caller that can reach this port is an operator: it can force-delete any cluster and report any status. Allowed only on a loopback address; never use it on a shared machine or in a deployment.";

/** AUTH=none is allowed only when the server listens on loopback (127.0.0.0/8, ::1, localhost): nobody else can reach it. */
export function checkAuthNone(host: string): { ok: true } | { error: string } {
  if (isLoopbackHost(host)) return { ok: true };
  return { error: `AUTH=none is refused: the server listens on ${JSON.stringify(host)}, which other machines can reach. Listen on 127.0.0.1 (or ::1, localhost), or configure authentication (AUTH=jwt with AUTH_CONFIG or AUTH_ISSUER; docs/security.md).` };
}

export interface AuthDeps {
  /** The server's listen host: AUTH=none is refused elsewhere than on loopback. */
  host: string;
  log?: AuthLog;
  verifier?: VerifierOptions;
}

/**
 * The authenticator a server's config asks for, or an error to exit with (AUTH=none off loopback).
 * Under AUTH=none the warning is logged here, once.
 */
export function createAuth(config: AuthConfig, deps: AuthDeps): { value: Authenticator } | { error: string } {
  if (config.mode === "none") {
    const allowed = checkAuthNone(deps.host);
    if ("error" in allowed) return allowed;
    deps.log?.warn({ auth: "none" }, AUTH_NONE_WARNING);
    return { value: createNoAuth() };
  }
  const verifier = createTokenVerifier(config.issuers, deps.verifier);
  return { value: createJwtAuth({ verifier, bindings: config.bindings, trustedProxies: config.trustedProxies, log: deps.log }) };
}

export type { VerifyFailure };

const methodNames = new WeakMap<DescMethod, string>();

/** "hyperfleet.v1.StatusService/ReportStatus", made once per method: a string built per call costs its hash at every lookup. */
function methodName(m: DescMethod): string {
  let name = methodNames.get(m);
  if (name === undefined) methodNames.set(m, (name = `${m.parent.typeName}/${m.name}`));
  return name;
}
