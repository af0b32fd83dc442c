import { Code } from "@connectrpc/connect";

/** What hf knew about the call that failed: enough to say what to do next, never the token itself. */
export interface HintContext {
  code: Code;
  rawMessage: string;
  /** The API's normalised URL. */
  api: string;
  /** Where credentials are looked for (credentialsPath). */
  credentialsPath: string;
  /** The token sent, if any: only its subject is ever shown. */
  token?: string;
  /** Where the token came from (ResolvedCredentials.source). */
  source: string;
}

/** A parenthesised hint to append to a server error (with its leading space), or "" when there is nothing to add. */
export function errorHint(c: HintContext): string {
  switch (c.code) {
    case Code.Unavailable:
      if (c.rawMessage.startsWith("authentication is temporarily unavailable")) return "";
      if (c.api.startsWith("https:") && /certificate|self[- ]signed|CERT_/i.test(c.rawMessage)) return ` (the server's TLS certificate is not trusted: pass --ca PATH or HF_CA, or set caFile in ${c.credentialsPath})`;
      return " (is the API running? see --api / HF_API_URL)";
    case Code.Unauthenticated:
      if (c.token === undefined) return ` (no credentials for ${c.api}: run npm start, which writes them to ${c.credentialsPath}, or pass --token / HF_TOKEN)`;
      return ` (the token was refused: it may have expired; npm start renews ~/.hyperfleet credentials; this one came from ${c.source})`;
    case Code.PermissionDenied: {
      const sub = c.token === undefined ? undefined : tokenSubject(c.token);
      const who = sub === undefined ? "this identity" : `the identity ${JSON.stringify(sub)}`;
      return ` (${who} lacks the role this call needs${c.token === undefined ? "" : `; its token came from ${c.source}`}: an operator binds roles in the API's AUTH_CONFIG, see docs/security.md)`;
    }
    default:
      return "";
  }
}

/** The `sub` claim of a JWT, decoded without verifying it (for messages only); undefined when there is none. */
export function tokenSubject(token: string): string | undefined {
  const part = token.split(".")[1];
  if (!part) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as unknown;
    const sub = typeof claims === "object" && claims !== null ? (claims as { sub?: unknown }).sub : undefined;
    return typeof sub === "string" && sub !== "" ? sub.replace(/[^\x20-\x7e]/g, "?").slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}
