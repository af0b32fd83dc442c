/** An ApiClient whose calls are counted by method name, for tests that assert how many calls a path makes. */
import type { ApiClient } from "../../services/shared/api-client.js";

/** A stand-in for one method: it gets the request and the call options the caller passed. */
export type Replacement = (req: never, opts?: { signal?: AbortSignal }) => Promise<unknown>;

/**
 * `client` with every call counted in `calls` (by method name, across its services); a method named
 * in `replace` answers with the replacement instead of calling the API.
 */
export function countingApi(client: ApiClient, replace: Record<string, Replacement> = {}): { api: ApiClient; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const counted = <T extends object>(service: T): T =>
    new Proxy(service, {
      get: (target, key) => {
        const f = (target as Record<string | symbol, unknown>)[key];
        if (typeof f !== "function") return f;
        const name = String(key);
        return (...args: unknown[]) => {
          calls[name] = (calls[name] ?? 0) + 1;
          const instead = replace[name] as ((...a: unknown[]) => Promise<unknown>) | undefined;
          return instead ? instead(...args) : f.apply(target, args);
        };
      },
    });
  return { api: { clusters: counted(client.clusters), nodepools: counted(client.nodepools), statuses: counted(client.statuses) }, calls };
}
