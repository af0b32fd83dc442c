import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { clientTlsOptions, createFastGrpcTransport, type ClientTls } from "./rpc/grpc-client.js";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { NodePoolService } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import { StatusService } from "../../gen/hyperfleet/v1/status_pb.js";

/** Typed clients for the HyperFleet API, over gRPC with a deadline on every call. */
export interface ApiClient {
  clusters: Client<typeof ClusterService>;
  nodepools: Client<typeof NodePoolService>;
  statuses: Client<typeof StatusService>;
}

export interface ApiClientOptions {
  /** Deadline of each call. */
  timeoutMs?: number;
  /** Unary calls over the lean gRPC client (rpc/grpc-client.ts, the default); false uses connect-node's (GRPC_FAST_PATH=false). */
  fastPath?: boolean;
  /** Run around every call (credentials). */
  interceptors?: Interceptor[];
  /** For an https API URL: the CA to trust (API_CA_FILE) and a client certificate for mTLS (API_CLIENT_CERT_FILE, API_CLIENT_KEY_FILE); see clientTlsConfig. */
  tls?: ClientTls;
}

/** Clients for the API at `baseUrl` (e.g. http://127.0.0.1:8000, or https://… with `tls`). */
export function createApiClient(baseUrl: string, opts: ApiClientOptions = {}): ApiClient {
  // No response compression: the services call the API next door, and gzip of every response cost the
  // API and each adapter more CPU (about 5 % of each) than it saves on a loopback or LAN link.
  const defaultTimeoutMs = opts.timeoutMs ?? 5000;
  const { interceptors, tls } = opts;
  const transport =
    opts.fastPath === false
      ? createGrpcTransport({ baseUrl, defaultTimeoutMs, acceptCompression: [], interceptors, nodeOptions: clientTlsOptions(baseUrl, tls) })
      : createFastGrpcTransport({ baseUrl, defaultTimeoutMs, interceptors, tls });
  return { clusters: createClient(ClusterService, transport), nodepools: createClient(NodePoolService, transport), statuses: createClient(StatusService, transport) };
}

const RETRYABLE = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted, Code.Aborted]);

/** True for errors that a later identical call may not hit (the API or its database restarting). */
export function isRetryable(err: unknown): boolean {
  return RETRYABLE.has(ConnectError.from(err).code);
}

export interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
}

/** Calls `fn` up to `attempts` times with exponential backoff and jitter, retrying only retryable errors. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const base = opts.baseDelayMs ?? 100;
  const max = opts.maxDelayMs ?? 2000;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isRetryable(err) || opts.signal?.aborted) throw err;
      const delay = Math.min(max, base * 2 ** (i - 1)) * (0.5 + Math.random() / 2);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
