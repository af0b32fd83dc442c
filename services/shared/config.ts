import type { RpcServerLimits } from "./rpc/serve.js";

/** Pure parsers from one environment variable to a typed value, each naming the variable on error. */
export type Parsed<T> = { value: T } | { error: string };

type Env = Record<string, string | undefined>;

function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/** A TCP port 0-65535 (0 = any free port). */
export function port(env: Env, name: string, fallback: number): Parsed<number> {
  const v = raw(env, name);
  if (v === undefined) return { value: fallback };
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) return { error: `${name}=${JSON.stringify(v)}: must be a port number 0-65535` };
  return { value: n };
}

/** A positive integer. */
export function positiveInt(env: Env, name: string, fallback: number): Parsed<number> {
  const v = raw(env, name);
  if (v === undefined) return { value: fallback };
  if (!/^\d+$/.test(v) || Number(v) < 1) return { error: `${name}=${JSON.stringify(v)}: must be a positive integer` };
  return { value: Number(v) };
}

/** A plain string. */
export function str(env: Env, name: string, fallback: string): Parsed<string> {
  return { value: raw(env, name) ?? fallback };
}

/** An optional string: undefined when unset. */
export function optional(env: Env, name: string): Parsed<string | undefined> {
  return { value: raw(env, name) };
}

/** A comma-separated list of non-empty items. */
export function list(env: Env, name: string, fallback: string[]): Parsed<string[]> {
  const v = raw(env, name);
  if (v === undefined) return { value: fallback };
  return { value: v.split(",").map((s) => s.trim()).filter((s) => s !== "") };
}

/** One of a closed set of words. */
export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): Parsed<T> {
  const v = raw(env, name);
  if (v === undefined) return { value: fallback };
  if (!(allowed as readonly string[]).includes(v)) {
    return { error: `${name}=${JSON.stringify(v)}: must be one of ${allowed.join(", ")}` };
  }
  return { value: v as T };
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "150ms", "10s", "30m", "1h", "1m30s" into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]];
    end = re.lastIndex;
  }
  return end === text.length && end > 0 ? total : undefined;
}

/** A duration such as "10s" or "150ms", in milliseconds. */
export function duration(env: Env, name: string, fallbackMs: number): Parsed<number> {
  const v = raw(env, name);
  if (v === undefined) return { value: fallbackMs };
  const ms = parseDuration(v);
  if (ms === undefined) return { error: `${name}=${JSON.stringify(v)}: must be a duration like 150ms, 10s, 30m, 1h` };
  return { value: ms };
}

/** Thrown by loadConfig with every problem found, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/**
 * Collects parsed fields into one object, or throws ConfigError listing every bad variable at once
 * (an operator fixes them all in one go).
 */
export function collect<T extends object>(fields: { [K in keyof T]: Parsed<T[K]> }): T {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, parsed] of Object.entries(fields) as [string, Parsed<unknown>][]) {
    if ("error" in parsed) problems.push(parsed.error);
    else out[key] = parsed.value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as T;
}

/** A "true"/"false" variable. */
export function bool(env: Env, name: string, fallback: boolean): Parsed<boolean> {
  const p = oneOf(env, name, ["true", "false"], fallback ? "true" : "false");
  return "value" in p ? { value: p.value === "true" } : p;
}

/** Longest accepted RPC server timeout: a day (Node's timers stop at about 24 days). */
const MAX_RPC_TIMEOUT_MS = 24 * 3_600_000;

/**
 * The shared RPC server's limits from RPC_* variables (docs/configuration.md, "RPC server"), for a
 * service to pass as `createRpcServer({ limits })`. Only the variables that are set appear; the rest
 * keep the server's defaults (RPC_SERVER_DEFAULTS in services/shared/rpc/serve.ts).
 */
export function rpcServerLimits(env: Env): Parsed<Partial<RpcServerLimits>> {
  const count = (name: string): Parsed<number | undefined> => (raw(env, name) === undefined ? { value: undefined } : positiveInt(env, name, 0));
  // A zero would turn the bound off, which is what these variables exist to prevent.
  const timeout = (name: string): Parsed<number | undefined> => {
    if (raw(env, name) === undefined) return { value: undefined };
    const p = duration(env, name, 0);
    if ("value" in p && (p.value < 1 || p.value > MAX_RPC_TIMEOUT_MS)) return { error: `${name}=${JSON.stringify(env[name])}: must be between 1ms and 24h` };
    return p;
  };
  const fields: Record<keyof RpcServerLimits, Parsed<number | undefined>> = {
    maxConnections: count("RPC_MAX_CONNECTIONS"),
    maxStreamsPerConnection: count("RPC_MAX_STREAMS_PER_CONNECTION"),
    maxCallsPerConnection: count("RPC_MAX_CALLS_PER_CONNECTION"),
    maxTurnWaitMs: timeout("RPC_MAX_TURN_WAIT"),
    sessionMemoryMb: count("RPC_SESSION_MEMORY_MB"),
    maxHeaderBytes: count("RPC_MAX_HEADER_BYTES"),
    maxRequestBytes: count("RPC_MAX_REQUEST_BYTES"),
    maxInFlight: count("RPC_MAX_IN_FLIGHT"),
    maxRequestBytesInFlight: count("RPC_MAX_REQUEST_BYTES_IN_FLIGHT"),
    headersTimeoutMs: timeout("RPC_HEADERS_TIMEOUT"),
    requestTimeoutMs: timeout("RPC_REQUEST_TIMEOUT"),
    idleTimeoutMs: timeout("RPC_IDLE_TIMEOUT"),
  };
  const errors: string[] = [];
  const limits: Partial<RpcServerLimits> = {};
  for (const [key, p] of Object.entries(fields) as [keyof RpcServerLimits, Parsed<number | undefined>][]) {
    if ("error" in p) errors.push(p.error);
    else if (p.value !== undefined) limits[key] = p.value;
  }
  return errors.length > 0 ? { error: errors.join("; ") } : { value: limits };
}

/** What every RPC service reads about its server and its API client (docs/configuration.md). */
export interface RpcConfig {
  /** Bounds on what clients may hold (RPC_*); unset ones take serve.ts's defaults. */
  limits: Partial<RpcServerLimits>;
  /** GRPC_FAST_PATH: unary gRPC on the fast server path and client (default true). */
  fastPath: boolean;
}

export function rpcConfig(env: Env): Parsed<RpcConfig> {
  const limits = rpcServerLimits(env);
  const fastPath = bool(env, "GRPC_FAST_PATH", true);
  const errors = [limits, fastPath].flatMap((p) => ("error" in p ? [p.error] : []));
  if ("error" in limits || "error" in fastPath) return { error: errors.join("; ") };
  return { value: { limits: limits.value, fastPath: fastPath.value } };
}
