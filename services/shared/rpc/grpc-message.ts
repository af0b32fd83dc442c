/**
 * connect-es percent-encodes grpc-message with encodeURIComponent, which also escapes printable
 * characters such as ':' and '/'. The gRPC spec only requires escaping bytes outside 0x20-0x7E and
 * '%', and @grpc/grpc-js decodes with decodeURI, so its users would read "name%3A must be ...".
 * Re-encoding to the spec's minimal form reads correctly in every gRPC implementation.
 */
export function respecGrpcMessage(encoded: string): string {
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

type NodeHeaders = Record<string, string | string[] | number | undefined>;

/** Rewrites a grpc-message entry in a header/trailer object in place. */
export function respecHeaders<T extends NodeHeaders | undefined>(headers: T): T {
  const v = headers?.["grpc-message"];
  if (headers && typeof v === "string") headers["grpc-message"] = respecGrpcMessage(v);
  return headers;
}
