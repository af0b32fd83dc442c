/**
 * One vocabulary for what a server answered, whatever the protocol: Connect's code names
 * ("ok", "invalid_argument", "internal", ...) when the answer is an RPC status, "http_<status>" when
 * it is a bare HTTP answer (an unknown route, an unsupported content type), and a transport failure
 * ("rst_<HTTP/2 error code>", "conn_reset", "client_timeout", ...) when no complete answer came.
 */
import { ConnectError, type Code } from "@connectrpc/connect";
import { codeToString, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";

export type Protocol = "grpc" | "grpc-web" | "connect-proto" | "connect-json";

/** Why no complete answer came: the stream was reset, the connection went, or our own deadline passed. */
export type TransportFailure = "reset" | "conn_reset" | "client_timeout" | "client_error";

/** What came back on the wire, before any protocol reading. */
export interface RawResponse {
  /** HTTP status; undefined when no response head arrived. */
  status?: number;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  /** The body's first bytes (up to the request's keepBytes). */
  body: Buffer;
  /** Every body byte received. */
  bodyBytes: number;
  /** Set when the answer is incomplete. */
  failure?: TransportFailure;
  /** The HTTP/2 RST_STREAM code, when the stream was reset. */
  rstCode?: number;
  ms: number;
}

/** The outcome's name: an RPC code, http_<status>, or a transport failure. */
export function classify(protocol: Protocol, res: RawResponse): string {
  if (res.failure && res.status === undefined) return res.failure === "reset" ? rstName(res.rstCode) : res.failure;
  if (protocol === "grpc" || protocol === "grpc-web") {
    if (res.status !== 200) return `http_${res.status}`;
    const status = grpcStatus(protocol, res);
    if (status === undefined) return res.rstCode ? rstName(res.rstCode) : (res.failure ?? "no_grpc_status");
    return status === 0 ? "ok" : (codeToString(status as Code) ?? `grpc_${status}`);
  }
  if (res.status === 200) return res.failure ?? "ok";
  try {
    const code = (JSON.parse(res.body.toString("utf8")) as { code?: unknown }).code;
    if (typeof code === "string") return code;
  } catch {
    // not a Connect error body
  }
  return `http_${res.status}`;
}

/** HTTP/2 RST_STREAM codes by number, as outcome names ("rst_refused_stream"). */
const RST_NAMES = ["no_error", "protocol_error", "internal_error", "flow_control_error", "settings_timeout", "stream_closed", "frame_size_error", "refused_stream", "cancel", "compression_error", "connect_error", "enhance_your_calm", "inadequate_security", "http_1_1_required"];

function rstName(code: number | undefined): string {
  return `rst_${RST_NAMES[code ?? -1] ?? code}`;
}

/**
 * Stream resets a gRPC client reports as INTERNAL (gRPC's HTTP/2 error code mapping); the others
 * read as UNAVAILABLE (refused_stream), RESOURCE_EXHAUSTED (enhance_your_calm) or CANCELLED.
 */
const RST_INTERNAL = new Set(["rst_protocol_error", "rst_internal_error", "rst_flow_control_error", "rst_settings_timeout", "rst_frame_size_error", "rst_compression_error", "rst_connect_error"]);

/** What the suite counts as the server failing: Internal, an HTTP 500, or a reset a gRPC client reads as Internal. */
export function isInternal(code: string): boolean {
  return code === "internal" || code === "http_500" || RST_INTERNAL.has(code);
}

/** Codes a client may retry at once: load shedding and transient unavailability. */
/** REFUSED_STREAM: the server never started the stream (over its per-connection cap); gRPC retries it as Unavailable. */
export const RETRYABLE = new Set(["unavailable", "resource_exhausted", "aborted", "rst_refused_stream"]);

/** The RPC error of a non-ok answer (with its details), when there is one to read. */
export function errorOf(protocol: Protocol, res: RawResponse): ConnectError | undefined {
  if (protocol === "grpc") return findTrailerError(fetchHeaders({ ...res.headers, ...res.trailers }));
  if (protocol === "grpc-web") return findTrailerError(fetchHeaders({ ...res.headers, ...res.trailers, ...webTrailers(res.body) }));
  if (res.status === 200 || res.status === undefined) return undefined;
  try {
    return errorFromJsonBytes(res.body, undefined, new ConnectError("unreadable error body"));
  } catch {
    return undefined;
  }
}

/** How many field violations an InvalidArgument's google.rpc.BadRequest details list (0 without details). */
export function violationsListed(protocol: Protocol, res: RawResponse): number {
  const err = errorOf(protocol, res);
  return (err?.findDetails(BadRequestSchema) ?? []).reduce((n, d) => n + d.fieldViolations.length, 0);
}

/** The response message's bytes of a successful unary gRPC answer (the first envelope's payload). */
export function grpcPayload(res: RawResponse): Buffer | undefined {
  if (res.body.length < 5) return undefined;
  const length = res.body.readUInt32BE(1);
  return res.body.length >= 5 + length ? res.body.subarray(5, 5 + length) : undefined;
}

/** Fetch Headers from Node's, without HTTP/2 pseudo-headers (":status"), which Headers refuses. */
function fetchHeaders(h: Record<string, string>): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) if (!k.startsWith(":")) out.append(k, v);
  return out;
}

function grpcStatus(protocol: Protocol, res: RawResponse): number | undefined {
  const text = res.trailers["grpc-status"] ?? res.headers["grpc-status"] ?? (protocol === "grpc-web" ? webTrailers(res.body)["grpc-status"] : undefined);
  return text === undefined || !/^\d+$/.test(text) ? undefined : Number(text);
}

/** gRPC-Web carries trailers as a body envelope flagged 0x80, in HTTP/1 header syntax. */
function webTrailers(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (let at = 0; at + 5 <= body.length; ) {
    const length = body.readUInt32BE(at + 1);
    if ((body[at] & 0x80) === 0x80) {
      for (const line of body.subarray(at + 5, at + 5 + length).toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
    }
    at += 5 + length;
  }
  return out;
}
