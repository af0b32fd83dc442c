import type { HandlerContext } from "@connectrpc/connect";
import { actorFrom } from "../shared/auth/index.js";

/** Who makes a change (created_by/updated_by/deleted_by), for a call's context. */
export type ActorOf = (ctx: HandlerContext) => string;

/**
 * The authenticated caller's identity. The x-hyperfleet-user header counts only from a configured
 * trusted proxy (a console acting for its users); from anyone else it is ignored, so nobody can write
 * changes under another name.
 */
export function actorResolver(trustedProxies: readonly string[]): ActorOf {
  return (ctx) => actorFrom(ctx.values, ctx.requestHeader, trustedProxies);
}
