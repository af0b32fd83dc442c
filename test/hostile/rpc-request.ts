/** Well-formed requests for the reproduced attacks: one message, in the protocol's framing, as raw bytes. */
import { create, toBinary, toJson, type DescMethod } from "@bufbuild/protobuf";
import type { Protocol } from "./outcome.js";
import { envelope, protocolHeaders, type WireRequest } from "./wire.js";

/** A protocol and HTTP version, e.g. ["grpc", "h2"]. */
export type Channel = readonly [Protocol, "h2" | "h1"];
export const GRPC: Channel = ["grpc", "h2"];
export const CONNECT_PROTO: Channel = ["connect-proto", "h2"];
export const CONNECT_JSON: Channel = ["connect-json", "h2"];
export const CONNECT_JSON_H1: Channel = ["connect-json", "h1"];

export const channelName = ([protocol, http]: Channel) => `${protocol}/${http === "h2" ? "HTTP2" : "HTTP1.1"}`;

/**
 * `method`'s request over `channel`: from an init object (or a message), or given JSON text or
 * message bytes; gRPC and gRPC-Web get their envelope.
 */
export function rpcRequest(channel: Channel, method: DescMethod, message: { init?: object; json?: string; binary?: Uint8Array }, extra: Partial<WireRequest> = {}): WireRequest {
  const [protocol, http] = channel;
  let body: Uint8Array;
  if (protocol === "connect-json") {
    body = Buffer.from(message.json ?? JSON.stringify(toJson(method.input, create(method.input, message.init as never))), "utf8");
  } else {
    const binary = message.binary ?? toBinary(method.input, create(method.input, message.init as never));
    body = protocol === "grpc" || protocol === "grpc-web" ? envelope(binary) : binary;
  }
  return { http, method: "POST", path: `/${method.parent.typeName}/${method.name}`, headers: protocolHeaders(protocol), body, ...extra };
}
