import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export { Counter, Gauge, Histogram, Registry } from "prom-client";

/** RPC metrics every service exports: requests by method and code, and latency. */
export interface RpcMetrics {
  readonly registry: Registry;
  readonly requests: Counter<"method" | "code">;
  readonly latency: Histogram<"method">;
}

/** A fresh registry (never the global one, so tests can run several servers) with process and RPC metrics. */
export function createRpcMetrics(prefix: string): RpcMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: `${prefix}_rpc_requests_total`,
    help: "RPCs handled, by method and Connect code (ok on success).",
    labelNames: ["method", "code"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: `${prefix}_rpc_duration_seconds`,
    help: "RPC handling latency by method.",
    labelNames: ["method"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { registry, requests, latency };
}
