import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { DescService } from "@bufbuild/protobuf";
import { accessOf, authorize, authorizeMethod, isRole, PERMISSIONS, resolveRoles, type Principal, type Role, type RoleBindings, type RoleKind } from "./roles.js";

// Every service of every generated file in gen/: a new RPC (or service) without a row below fails here.
const genDir = join(process.cwd(), "gen");
const services: DescService[] = [];
for (const f of readdirSync(genDir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith("_pb.ts"))) {
  const mod = (await import(pathToFileURL(join(genDir, f)).href)) as Record<string, unknown>;
  for (const v of Object.values(mod)) if (typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "service") services.push(v as DescService);
}
const methods = services.flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`)).sort();

/** The intended table (docs/security.md), written out independently of roles.ts. */
const READ: RoleKind[] = ["reader", "user", "sentinel", "adapter", "operator"];
const WRITE: RoleKind[] = ["user", "operator"];
const EXPECTED: Record<string, "open" | "any identity" | RoleKind[]> = {
  "grpc.health.v1.Health/Check": "open",
  "grpc.health.v1.Health/List": "any identity",
  "grpc.health.v1.Health/Watch": "open",
  "grpc.reflection.v1.ServerReflection/ServerReflectionInfo": "any identity",
  "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": "any identity",
  "hyperfleet.v1.ClusterService/GetCluster": READ,
  "hyperfleet.v1.ClusterService/ListClusters": READ,
  "hyperfleet.v1.ClusterService/WatchClusters": READ,
  "hyperfleet.v1.ClusterService/CreateCluster": WRITE,
  "hyperfleet.v1.ClusterService/UpdateCluster": WRITE,
  "hyperfleet.v1.ClusterService/DeleteCluster": WRITE,
  "hyperfleet.v1.ClusterService/ForceDeleteCluster": ["operator"],
  "hyperfleet.v1.NodePoolService/GetNodePool": READ,
  "hyperfleet.v1.NodePoolService/ListNodePools": READ,
  "hyperfleet.v1.NodePoolService/WatchNodePools": READ,
  "hyperfleet.v1.NodePoolService/CreateNodePool": WRITE,
  "hyperfleet.v1.NodePoolService/UpdateNodePool": WRITE,
  "hyperfleet.v1.NodePoolService/DeleteNodePool": WRITE,
  "hyperfleet.v1.NodePoolService/ForceDeleteNodePool": ["operator"],
  "hyperfleet.v1.StatusService/ListStatuses": READ,
  "hyperfleet.v1.StatusService/ReportStatus": ["adapter", "operator"],
  "hyperfleet.v1.SentinelService/GetStatus": READ,
  "hyperfleet.v1.SentinelService/Reconcile": ["operator"],
  "hyperfleet.v1.AdapterService/GetStatus": READ,
  "hyperfleet.v1.AdapterService/DryRun": ["operator"],
};

const who = (...roles: Role[]): Principal => ({ identity: `someone-${roles.join("+") || "without-roles"}`, issuer: "test", roles });
const CALLERS: [RoleKind | "no role", Principal][] = [
  ["no role", who()],
  ["reader", who("reader")],
  ["user", who("user")],
  ["sentinel", who("sentinel")],
  ["adapter", who("adapter:dns")],
  ["operator", who("operator")],
];

test("every generated service's methods are exactly the methods that have a rule, and the intended ones", () => {
  expect(services.length).toBeGreaterThanOrEqual(8);
  expect(methods).toEqual(Object.keys(EXPECTED).sort());
  expect([...PERMISSIONS.keys()].sort()).toEqual(methods);
});

const rows = methods.flatMap((method) =>
  CALLERS.map(([kind, principal]) => {
    // A method without an intended rule is expected to be refused to everyone, which its rule in roles.ts must then say.
    const rule = EXPECTED[method] ?? [];
    const allowed = rule === "open" || rule === "any identity" || (kind !== "no role" && rule.includes(kind));
    return [`${method} by ${kind}: ${allowed ? "allowed" : "permission_denied"}`, method, principal, allowed] as const;
  }),
);

test.each(rows)("%s", (_name, method, principal, allowed) => {
  // A report names the caller's own adapter here; reporting as another is tested below.
  const message = method.endsWith("/ReportStatus") ? { adapter: "dns" } : {};
  expect(EXPECTED[method]).toBeDefined();
  expect(authorize(method, principal, message)).toEqual(allowed ? { ok: true } : { ok: false, code: "permission_denied", reason: "role_missing" });
});

test.each([
  ["health is open: no credentials needed", "grpc.health.v1.Health/Check", "open"],
  ["reflection needs an identity, no role", "grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "authenticated"],
  ["ForceDelete needs operator", "hyperfleet.v1.ClusterService/ForceDeleteCluster", "roles"],
  ["a method nobody wrote a rule for has none", "hyperfleet.v1.ClusterService/Explode", undefined],
])("accessOf: %s", (_name, method, kind) => expect(accessOf(method)?.kind).toBe(kind));

test.each<[string, string, Principal, unknown, ReturnType<typeof authorize>]>([
  ["adapter:dns reporting as dns → ok", "hyperfleet.v1.StatusService/ReportStatus", who("adapter:dns"), { adapter: "dns" }, { ok: true }],
  ["adapter:dns reporting as placement → other_adapter", "hyperfleet.v1.StatusService/ReportStatus", who("adapter:dns"), { adapter: "placement" }, { ok: false, code: "permission_denied", reason: "other_adapter" }],
  ["adapter:dns reporting with no adapter named → other_adapter", "hyperfleet.v1.StatusService/ReportStatus", who("adapter:dns"), { adapter: "" }, { ok: false, code: "permission_denied", reason: "other_adapter" }],
  ["adapter:dns with no message → other_adapter", "hyperfleet.v1.StatusService/ReportStatus", who("adapter:dns"), undefined, { ok: false, code: "permission_denied", reason: "other_adapter" }],
  ["adapter:dns and adapter:placement reporting as placement → ok", "hyperfleet.v1.StatusService/ReportStatus", who("adapter:dns", "adapter:placement"), { adapter: "placement" }, { ok: true }],
  ["operator reports as any adapter → ok", "hyperfleet.v1.StatusService/ReportStatus", who("operator"), { adapter: "placement" }, { ok: true }],
  ["adapter:dns reporting as dns-x (prefix) → other_adapter", "hyperfleet.v1.StatusService/ReportStatus", who("adapter:dns"), { adapter: "dns-x" }, { ok: false, code: "permission_denied", reason: "other_adapter" }],
  ["a user reporting → role_missing", "hyperfleet.v1.StatusService/ReportStatus", who("user"), { adapter: "dns" }, { ok: false, code: "permission_denied", reason: "role_missing" }],
  ["adapter:dns force-deleting → role_missing", "hyperfleet.v1.ClusterService/ForceDeleteCluster", who("adapter:dns"), {}, { ok: false, code: "permission_denied", reason: "role_missing" }],
  ["an unknown method, even for operator → unknown_method", "hyperfleet.v1.ClusterService/Explode", who("operator"), {}, { ok: false, code: "permission_denied", reason: "unknown_method" }],
  ["an unknown method without the slash form → unknown_method", "ClusterService.GetCluster", who("operator"), {}, { ok: false, code: "permission_denied", reason: "unknown_method" }],
])("authorize: %s", (_name, method, principal, message, decision) => expect(authorize(method, principal, message)).toEqual(decision));

test.each<[string, string, Principal, ReturnType<typeof authorize>]>([
  ["before the body, an adapter may start a report (its name is checked with the message)", "hyperfleet.v1.StatusService/ReportStatus", who("adapter:dns"), { ok: true }],
  ["before the body, a reader may not report", "hyperfleet.v1.StatusService/ReportStatus", who("reader"), { ok: false, code: "permission_denied", reason: "role_missing" }],
  ["before the body, unknown methods are refused", "x.Y/Z", who("operator"), { ok: false, code: "permission_denied", reason: "unknown_method" }],
])("authorizeMethod: %s", (_name, method, principal, decision) => expect(authorizeMethod(method, principal)).toEqual(decision));

const bindings: RoleBindings = {
  identities: new Map<string, Role[]>([
    ["system:serviceaccount:hyperfleet:dns", ["adapter:dns"]],
    ["alice", ["user", "reader"]],
  ]),
  claims: new Map<string, Role[]>([
    ["platform-admins", ["operator"]],
    ["viewers", ["reader"]],
  ]),
};

test.each<[string, string, string[], Role[]]>([
  ["an identity binding", "system:serviceaccount:hyperfleet:dns", [], ["adapter:dns"]],
  ["identity and claim bindings combine, without repeats", "alice", ["viewers", "platform-admins"], ["user", "reader", "operator"]],
  ["a claim value bound to a role", "bob", ["viewers"], ["reader"]],
  ["a claim value that is a role name grants nothing by itself", "bob", ["operator"], []],
  ["an unbound identity has no role", "mallory", [], []],
  ["identity matching is exact (case)", "Alice", [], []],
  ["a prototype name is just an unbound identity", "__proto__", ["constructor"], []],
])("resolveRoles: %s", (_name, identity, claims, roles) => expect(resolveRoles(identity, claims, bindings)).toEqual(roles));

test.each([
  ["reader", true],
  ["user", true],
  ["sentinel", true],
  ["operator", true],
  ["adapter:dns", true],
  ["adapter:node-pool_2.x", true],
  ["adapter:", false],
  ["adapter:dns extra", false],
  ["admin", false],
  ["Operator", false],
])("isRole(%j) = %j", (s, ok) => expect(isRole(s)).toBe(ok));
