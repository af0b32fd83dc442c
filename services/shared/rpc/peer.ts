import type { PeerCertificate } from "node:tls";
import { createContextKey, type ContextValues } from "@connectrpc/connect";

/**
 * The identity the caller's verified client certificate proves (mTLS), set by createRpcServer on
 * every call of a connection whose certificate the server's CA verified. Unset otherwise: no TLS,
 * no client CA configured, or a certificate without a URI or DNS SAN.
 */
export const peerIdentityKey = createContextKey<string | undefined>(undefined, { description: "the verified client certificate's identity (mTLS)" });

export function peerIdentityOf(values: ContextValues): string | undefined {
  return values.get(peerIdentityKey);
}

/**
 * A certificate's identity: its first URI SAN (spiffe://hyperfleet/adapter/dns), else its first DNS
 * SAN, else none. Never the subject's CN: a CN is free text that no name constraint or issuing
 * policy governs the way SANs are, and RFC 6125 retired it as an identity.
 */
export function identityOfCertificate(cert: Pick<PeerCertificate, "subjectaltname"> | undefined): string | undefined {
  if (!cert?.subjectaltname) return undefined;
  const names = parseSubjectAltName(cert.subjectaltname);
  if (names === undefined) return undefined;
  // A certificate with a URI SAN is identified by it alone, even by an empty one: no falling back to a DNS name.
  const first = names.find((n) => n.type === "URI") ?? names.find((n) => n.type === "DNS");
  return first?.value || undefined;
}

/** The identity of a TLS socket's peer, only when its certificate chain was verified (socket.authorized). */
export function peerIdentityOfSocket(socket: { readonly authorized: boolean; getPeerCertificate(): Pick<PeerCertificate, "subjectaltname"> | undefined }): string | undefined {
  if (socket.authorized !== true) return undefined;
  return identityOfCertificate(socket.getPeerCertificate());
}

/**
 * Node's subjectaltname text: `TYPE:value` entries joined by ", ", a value with a character that
 * could confuse a reader (a comma, a quote, a space, a control character) written as a JSON string
 * (`URI:"spiffe://a\u002cb"`). Undefined when the text does not parse: no identity rather than a wrong one.
 */
export function parseSubjectAltName(text: string): { type: string; value: string }[] | undefined {
  const out: { type: string; value: string }[] = [];
  const entry = /([A-Za-z][A-Za-z ]*):("(?:[^"\\]|\\.)*"|[^,"]*)(, |$)/y;
  while (entry.lastIndex < text.length) {
    const start = entry.lastIndex;
    const m = entry.exec(text);
    if (!m || m[0] === "") return undefined;
    let value = m[2];
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        return undefined;
      }
    }
    out.push({ type: m[1], value });
    // ", " at the very end would leave nothing to read: malformed.
    if (m[3] === ", " && entry.lastIndex === text.length) return undefined;
    if (entry.lastIndex === start) return undefined;
  }
  return out;
}
