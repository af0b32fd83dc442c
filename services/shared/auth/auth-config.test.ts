import { authConfig, isLoopbackHost } from "./auth-config.js";

const files: Record<string, string> = {
  "/etc/hf/auth.yaml": `
issuers:
  - issuer: https://kubernetes.default.svc
    audience: hyperfleet
    jwksUrl: https://kubernetes.default.svc/openid/v1/jwks
  - issuer: https://idp.example.com
    audience: [hyperfleet, hf-cli]
    jwksFile: keys/idp.json
    identityClaim: email
    rolesClaim: groups
    identityPrefix: "idp:"
bindings:
  identities:
    system:serviceaccount:hyperfleet:dns: [adapter:dns]
    system:serviceaccount:hyperfleet:sentinel: [sentinel]
  claims:
    platform-admins: [operator]
    everyone: reader
trustedProxies: [system:serviceaccount:hyperfleet:gateway]
`,
  "/etc/hf/auth.json": JSON.stringify({ issuers: [{ issuer: "local", audience: "hyperfleet", jwksFile: "/keys/jwks.json" }] }),
  "/etc/hf/typos.yaml": `
issuers:
  - issuer: local
    audience: ""
    jwks_url: https://x
  - issuer: plain
    audience: hf
    jwksUrl: http://idp.example.com/jwks
bindings:
  identities:
    alice: [admin, reader]
  groups: {}
trustedProxies: gateway
`,
  "/etc/hf/bad.yaml": "issuers: [\n",
  "/etc/hf/list.yaml": "- 1\n",
};
const read = (p: string) => {
  const text = files[p];
  if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${p}'`);
  return text;
};

test("AUTH=none needs nothing else", () => {
  expect(authConfig({ AUTH: "none", AUTH_ISSUER: "ignored" }, read)).toEqual({ value: { mode: "none" } });
});

test("a file with two issuers, bindings and trusted proxies; jwksFile is relative to the file", () => {
  const c = authConfig({ AUTH_CONFIG: "/etc/hf/auth.yaml" }, read);
  expect(c).toEqual({
    value: {
      mode: "jwt",
      issuers: [
        { issuer: "https://kubernetes.default.svc", audience: ["hyperfleet"], jwksUrl: "https://kubernetes.default.svc/openid/v1/jwks", identityClaim: "sub" },
        { issuer: "https://idp.example.com", audience: ["hyperfleet", "hf-cli"], jwksFile: "/etc/hf/keys/idp.json", identityClaim: "email", rolesClaim: "groups", identityPrefix: "idp:" },
      ],
      bindings: {
        identities: new Map([
          ["system:serviceaccount:hyperfleet:dns", ["adapter:dns"]],
          ["system:serviceaccount:hyperfleet:sentinel", ["sentinel"]],
        ]),
        claims: new Map([
          ["platform-admins", ["operator"]],
          ["everyone", ["reader"]],
        ]),
      },
      trustedProxies: ["system:serviceaccount:hyperfleet:gateway"],
    },
  });
});

test("JSON is YAML: an AUTH_CONFIG in JSON reads the same; the shortcut adds its issuer beside the file's", () => {
  const c = authConfig({ AUTH_CONFIG: "/etc/hf/auth.json", AUTH_ISSUER: "kube", AUTH_AUDIENCE: "hyperfleet", AUTH_JWKS_URL: "https://kube/jwks" }, read);
  expect("value" in c && c.value.mode === "jwt" && c.value.issuers.map((i) => i.issuer)).toEqual(["local", "kube"]);
});

test.each<[string, Record<string, string>, object]>([
  [
    "the single-issuer shortcut, a comma-separated audience, a JWKS URL",
    { AUTH_ISSUER: "https://kube", AUTH_AUDIENCE: "hyperfleet, hf", AUTH_JWKS_URL: "https://kube/jwks", AUTH_IDENTITY_CLAIM: "email", AUTH_ROLES_CLAIM: "groups" },
    { issuer: "https://kube", audience: ["hyperfleet", "hf"], jwksUrl: "https://kube/jwks", identityClaim: "email", rolesClaim: "groups" },
  ],
  ["a JWKS file (made absolute); the identity claim defaults to sub", { AUTH_ISSUER: "local", AUTH_AUDIENCE: "hyperfleet", AUTH_JWKS_FILE: "/keys/jwks.json" }, { issuer: "local", audience: ["hyperfleet"], jwksFile: "/keys/jwks.json", identityClaim: "sub" }],
  ["http is allowed on loopback", { AUTH_ISSUER: "local", AUTH_AUDIENCE: "hf", AUTH_JWKS_URL: "http://127.0.0.1:9000/jwks" }, { jwksUrl: "http://127.0.0.1:9000/jwks" }],
])("env: %s", (_name, env, issuer) => {
  const c = authConfig(env, read);
  expect(c).toMatchObject({ value: { mode: "jwt", issuers: [issuer], trustedProxies: [] } });
});

test.each<[string, Record<string, string>, string[]]>([
  ["AUTH must be jwt or none", { AUTH: "off" }, ['AUTH="off": must be one of jwt, none']],
  ["AUTH=jwt (the default) with no issuer at all says how to configure one", {}, ["AUTH=jwt needs an issuer: set AUTH_ISSUER, AUTH_AUDIENCE and AUTH_JWKS_URL or AUTH_JWKS_FILE, or AUTH_CONFIG (or AUTH=none on loopback)"]],
  [
    "a shortcut variable alone names each missing one",
    { AUTH_JWKS_FILE: "/k.json", AUTH_JWKS_URL: "https://k" },
    ["AUTH_ISSUER: required when any AUTH_ISSUER/AUTH_AUDIENCE/AUTH_JWKS_* variable is set", "AUTH_AUDIENCE: required with AUTH_ISSUER (the audience its tokens carry for this service)", "AUTH_JWKS_URL or AUTH_JWKS_FILE: exactly one is required with AUTH_ISSUER"],
  ],
  ["keys over plain http elsewhere than loopback", { AUTH_ISSUER: "i", AUTH_AUDIENCE: "a", AUTH_JWKS_URL: "http://idp.example.com/jwks" }, ['AUTH_JWKS_URL="http://idp.example.com/jwks": must be an https URL (http only on a loopback host)']],
  ["a JWKS URL that is not one", { AUTH_ISSUER: "i", AUTH_AUDIENCE: "a", AUTH_JWKS_URL: "jwks.json" }, ['AUTH_JWKS_URL="jwks.json": must be a URL']],
  ["an AUTH_CONFIG that cannot be read", { AUTH_CONFIG: "/nowhere.yaml" }, ["AUTH_CONFIG=\"/nowhere.yaml\": ENOENT: no such file or directory, open '/nowhere.yaml'"]],
  ["an AUTH_CONFIG that is not a mapping", { AUTH_CONFIG: "/etc/hf/list.yaml" }, ['AUTH_CONFIG="/etc/hf/list.yaml": must be a mapping with issuers, bindings and trustedProxies']],
  ["an issuer twice (file and shortcut)", { AUTH_CONFIG: "/etc/hf/auth.json", AUTH_ISSUER: "local", AUTH_AUDIENCE: "a", AUTH_JWKS_FILE: "/k.json" }, ['issuer "local" is configured twice']],
  [
    "every problem in the file, each by its field path",
    { AUTH_CONFIG: "/etc/hf/typos.yaml" },
    [
      'AUTH_CONFIG="/etc/hf/typos.yaml": issuers[0].jwks_url: unknown field (expected one of issuer, jwksUrl, jwksFile, audience, identityClaim, rolesClaim, identityPrefix)',
      'AUTH_CONFIG="/etc/hf/typos.yaml": issuers[0].audience: must be a non-empty string or list of strings',
      'AUTH_CONFIG="/etc/hf/typos.yaml": issuers[0].jwksUrl: exactly one of jwksUrl and jwksFile is required',
      'AUTH_CONFIG="/etc/hf/typos.yaml": issuers[1].jwksUrl: must be an https URL (http only on a loopback host)',
      'AUTH_CONFIG="/etc/hf/typos.yaml": bindings.groups: unknown field (expected one of identities, claims)',
      'AUTH_CONFIG="/etc/hf/typos.yaml": bindings.identities.alice: unknown role "admin" (roles: reader, user, sentinel, operator, adapter:<name>)',
      'AUTH_CONFIG="/etc/hf/typos.yaml": trustedProxies: must be a list of identities',
    ],
  ],
])("error: %s", (_name, env, problems) => {
  const c = authConfig(env, read);
  expect("error" in c && c.error.split("; ")).toEqual(problems);
});

test("a file that is not YAML names the variable and the parser's first line", () => {
  const c = authConfig({ AUTH_CONFIG: "/etc/hf/bad.yaml" }, read);
  expect("error" in c && c.error).toMatch(/^AUTH_CONFIG="\/etc\/hf\/bad.yaml": .+/);
});

test.each([
  ["127.0.0.1", true],
  ["127.1.2.3", true],
  ["::1", true],
  ["[::1]", true],
  ["0:0:0:0:0:0:0:1", true],
  ["::ffff:127.0.0.1", true],
  ["localhost", true],
  ["LOCALHOST", true],
  ["0.0.0.0", false],
  ["::", false],
  ["", false],
  ["10.0.0.1", false],
  ["128.0.0.1", false],
  ["localhost.example.com", false],
  ["api.internal", false],
])("isLoopbackHost(%j) = %j", (host, loopback) => expect(isLoopbackHost(host)).toBe(loopback));
