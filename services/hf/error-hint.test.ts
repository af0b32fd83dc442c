import { Code } from "@connectrpc/connect";
import { errorHint, tokenSubject, type HintContext } from "./error-hint.js";

const jwt = (claims: object) => `eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.c2ln`;
const base: HintContext = { code: Code.Unknown, rawMessage: "", api: "http://127.0.0.1:8000", credentialsPath: "/home/u/.hyperfleet/credentials.json", source: "none" };
const withToken = { token: jwt({ sub: "rita" }), source: "HF_TOKEN" };

describe("errorHint: what to do next, by code and by whether a token was sent", () => {
  test.each<[string, Partial<HintContext>, string]>([
    ["Unauthenticated without a token: where credentials come from", { code: Code.Unauthenticated, rawMessage: "authentication required" }, " (no credentials for http://127.0.0.1:8000: run npm start, which writes them to /home/u/.hyperfleet/credentials.json, or pass --token / HF_TOKEN)"],
    ["Unauthenticated with a token: it was refused, and where it came from", { code: Code.Unauthenticated, rawMessage: "invalid credentials", ...withToken }, " (the token was refused: it may have expired; npm start renews ~/.hyperfleet credentials; this one came from HF_TOKEN)"],
    ["PermissionDenied with a token: its identity lacks the role", { code: Code.PermissionDenied, rawMessage: "permission denied for x", ...withToken }, ' (the identity "rita" lacks the role this call needs; its token came from HF_TOKEN: an operator binds roles in the API\'s AUTH_CONFIG, see docs/security.md)'],
    ["PermissionDenied with an opaque token", { code: Code.PermissionDenied, token: "opaque", source: "--token" }, " (this identity lacks the role this call needs; its token came from --token: an operator binds roles in the API's AUTH_CONFIG, see docs/security.md)"],
    ["PermissionDenied without a token", { code: Code.PermissionDenied }, " (this identity lacks the role this call needs: an operator binds roles in the API's AUTH_CONFIG, see docs/security.md)"],
    ["Unavailable: is the API running", { code: Code.Unavailable, rawMessage: "connect ECONNREFUSED 127.0.0.1:8000" }, " (is the API running? see --api / HF_API_URL)"],
    ["Unavailable from the API's own authentication: nothing to add", { code: Code.Unavailable, rawMessage: "authentication is temporarily unavailable; retry later" }, ""],
    ["an untrusted certificate on https: --ca", { code: Code.Unavailable, api: "https://api.example", rawMessage: "self-signed certificate in certificate chain" }, " (the server's TLS certificate is not trusted: pass --ca PATH or HF_CA, or set caFile in /home/u/.hyperfleet/credentials.json)"],
    ["other codes: nothing", { code: Code.NotFound, rawMessage: 'cluster "x" not found', ...withToken }, ""],
  ])("%s", (_rule, c, expected) => {
    expect(errorHint({ ...base, ...c })).toBe(expected);
  });

  test("no hint ever contains the token", () => {
    const token = jwt({ sub: "alice", secret: "s3cret" });
    for (const code of [Code.Unauthenticated, Code.PermissionDenied, Code.Unavailable]) expect(errorHint({ ...base, code, token, source: "--token" })).not.toContain(token);
  });
});

describe("tokenSubject", () => {
  test.each([
    ["a JWT's sub", jwt({ sub: "alice", roles: ["user"] }), "alice"],
    ["no sub", jwt({ iss: "x" }), undefined],
    ["a sub that is not a string", jwt({ sub: 7 }), undefined],
    ["control characters replaced", jwt({ sub: "a\nb\u001b" }), "a?b?"],
    ["not a JWT", "opaque-token", undefined],
    ["a payload that is not JSON", "a.bm90IGpzb24.c", undefined],
  ])("%s", (_rule, token, expected) => {
    expect(tokenSubject(token)).toBe(expected);
  });
});
