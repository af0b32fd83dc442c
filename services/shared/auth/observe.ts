import { Code, ConnectError } from "@connectrpc/connect";
import { Counter, type Registry } from "prom-client";
import type { Authenticator } from "./interceptor.js";

/**
 * The same authenticator, counting its refusals in `<prefix>_auth_refusals_total{code}`: refusals
 * in the request gate never reach the RPC metrics' interceptor, and a burst of them (an expired
 * service token, a scanner) is what an operator wants to see and alert on.
 */
export function observeAuth(auth: Authenticator, registry: Registry, prefix: string): Authenticator {
  const refusals = new Counter({
    name: `${prefix}_auth_refusals_total`,
    help: "Calls refused by authentication or authorisation, by code (unauthenticated, permission_denied, unavailable: the issuer's keys could not be read).",
    labelNames: ["code"] as const,
    registers: [registry],
  });
  const counted = (err: unknown): never => {
    const code = err instanceof ConnectError ? err.code : Code.Unknown;
    refusals.inc({ code: Code[code].replace(/[A-Z]/g, (c, i: number) => (i ? "_" : "") + c.toLowerCase()) });
    throw err;
  };
  return {
    trustedProxies: auth.trustedProxies,
    requestGate: (ctx) => auth.requestGate(ctx).catch(counted),
    // Only the interceptor's own refusals: an error from behind it (the handler) passes uncounted.
    interceptor: (next) => {
      const reached = new WeakSet<object>();
      const inner = auth.interceptor((req) => {
        reached.add(req);
        return next(req);
      });
      return async (req) => {
        try {
          return await inner(req);
        } catch (err) {
          if (!reached.has(req)) counted(err);
          throw err;
        }
      };
    },
  };
}
