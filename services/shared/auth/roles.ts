/**
 * Who may call what (issue 18; docs/security.md): roles, the bindings that give identities and claim
 * values their roles, and the permission table from a fully-qualified RPC method to the roles allowed.
 * Pure: no I/O, no clock.
 */

/** What a principal may do; `adapter:<name>` may report statuses only under <name>. */
export type Role = "reader" | "user" | "sentinel" | "operator" | `adapter:${string}`;
/** A role without its adapter name: what the permission table speaks of. */
export type RoleKind = "reader" | "user" | "sentinel" | "operator" | "adapter";

/** An authenticated caller: its identity (a token's identity claim, later a certificate SAN), where it was proven, and its roles. */
export interface Principal {
  readonly identity: string;
  /** The token's issuer ("none" under AUTH=none). */
  readonly issuer: string;
  readonly roles: readonly Role[];
}

/** Configuration: exact identities and values of an issuer's roles claim, each to the roles it grants. */
export interface RoleBindings {
  /** Exact strings, e.g. "system:serviceaccount:hyperfleet:dns". Maps, so that "__proto__" or "constructor" is just a key. */
  readonly identities: ReadonlyMap<string, readonly Role[]>;
  /** Values of an issuer's roles claim (a group, say) to roles. A value is never a role by itself: only a binding grants. */
  readonly claims: ReadonlyMap<string, readonly Role[]>;
}

export const NO_BINDINGS: RoleBindings = { identities: new Map(), claims: new Map() };

const ADAPTER_PREFIX = "adapter:";
/** An adapter's name as its config's `adapter:` field spells it (dns, placement, validation, nodepool). */
const ADAPTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const PLAIN_ROLES: ReadonlySet<string> = new Set(["reader", "user", "sentinel", "operator"]);

/** True for a role name this module knows; configuration refuses anything else rather than ignoring a typo. */
export function isRole(s: string): s is Role {
  if (PLAIN_ROLES.has(s)) return true;
  return s.startsWith(ADAPTER_PREFIX) && ADAPTER_NAME.test(s.slice(ADAPTER_PREFIX.length));
}

function kindOf(role: Role): RoleKind {
  return role.startsWith(ADAPTER_PREFIX) ? "adapter" : (role as RoleKind);
}

/** The roles an identity holds: its own bindings plus those of each roles-claim value, without repeats. */
export function resolveRoles(identity: string, claimValues: readonly string[], bindings: RoleBindings): Role[] {
  const out = new Set<Role>(bindings.identities.get(identity) ?? []);
  for (const v of claimValues) for (const r of bindings.claims.get(v) ?? []) out.add(r);
  return [...out];
}

/**
 * What a method requires. `open`: nothing, not even credentials. `authenticated`: any verified
 * identity, with or without roles. `roles`: one of these role kinds; with `ownAdapter`, an adapter
 * role counts only when the request's `adapter` field is its own name.
 */
export type Access = { readonly kind: "open" } | { readonly kind: "authenticated" } | { readonly kind: "roles"; readonly roles: readonly RoleKind[]; readonly ownAdapter?: true };

const OPEN: Access = { kind: "open" };
// The schema reveals nothing a reader could not already call, but an anonymous scanner should not get
// a map of every method and message to probe: any verified identity may reflect, no role needed.
const AUTHENTICATED: Access = { kind: "authenticated" };
const READ: Access = { kind: "roles", roles: ["reader", "user", "sentinel", "adapter", "operator"] };
const WRITE: Access = { kind: "roles", roles: ["user", "operator"] };
const OPERATOR: Access = { kind: "roles", roles: ["operator"] };
const REPORT: Access = { kind: "roles", roles: ["adapter", "operator"], ownAdapter: true };

/**
 * Every method of every service, by fully-qualified name. A method missing here is denied to
 * everyone (least privilege): a new RPC is unusable until it gets a row, and roles.test.ts fails.
 */
export const PERMISSIONS: ReadonlyMap<string, Access> = new Map<string, Access>([
  // Load balancers and kubelet probes have no credentials; health says only SERVING or not, per service name.
  ["grpc.health.v1.Health/Check", OPEN],
  // List names every service the port serves: a map for a scanner, and no probe needs it (they Check or Watch one name).
  ["grpc.health.v1.Health/List", AUTHENTICATED],
  ["grpc.health.v1.Health/Watch", OPEN],
  ["grpc.reflection.v1.ServerReflection/ServerReflectionInfo", AUTHENTICATED],
  ["grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", AUTHENTICATED],
  ["hyperfleet.v1.ClusterService/GetCluster", READ],
  ["hyperfleet.v1.ClusterService/ListClusters", READ],
  ["hyperfleet.v1.ClusterService/WatchClusters", READ],
  ["hyperfleet.v1.ClusterService/CreateCluster", WRITE],
  ["hyperfleet.v1.ClusterService/UpdateCluster", WRITE],
  ["hyperfleet.v1.ClusterService/DeleteCluster", WRITE],
  ["hyperfleet.v1.ClusterService/ForceDeleteCluster", OPERATOR],
  ["hyperfleet.v1.NodePoolService/GetNodePool", READ],
  ["hyperfleet.v1.NodePoolService/ListNodePools", READ],
  ["hyperfleet.v1.NodePoolService/WatchNodePools", READ],
  ["hyperfleet.v1.NodePoolService/CreateNodePool", WRITE],
  ["hyperfleet.v1.NodePoolService/UpdateNodePool", WRITE],
  ["hyperfleet.v1.NodePoolService/DeleteNodePool", WRITE],
  ["hyperfleet.v1.NodePoolService/ForceDeleteNodePool", OPERATOR],
  ["hyperfleet.v1.StatusService/ListStatuses", READ],
  ["hyperfleet.v1.StatusService/ReportStatus", REPORT],
  ["hyperfleet.v1.SentinelService/GetStatus", READ],
  ["hyperfleet.v1.SentinelService/Reconcile", OPERATOR],
  ["hyperfleet.v1.AdapterService/GetStatus", READ],
  ["hyperfleet.v1.AdapterService/DryRun", OPERATOR],
]);

/** Why a call was refused (a closed set: log fields and metric labels). */
export type DenyReason = "unknown_method" | "role_missing" | "other_adapter";

export type Decision = { readonly ok: true } | { readonly ok: false; readonly code: "permission_denied"; readonly reason: DenyReason };

const ALLOW: Decision = { ok: true };
const deny = (reason: DenyReason): Decision => ({ ok: false, code: "permission_denied", reason });

/** The method's access rule; undefined for a method nobody may call. */
export function accessOf(method: string): Access | undefined {
  return PERMISSIONS.get(method);
}

/**
 * Whether `principal` may call `method` ("hyperfleet.v1.StatusService/ReportStatus") with `message`.
 * An adapter role reports only under its own name: without a message, or with another adapter's, it is refused.
 */
export function authorize(method: string, principal: Principal, message?: unknown): Decision {
  return decide(method, principal, (role) => reportedAdapter(message) === role.slice(ADAPTER_PREFIX.length));
}

/**
 * The same decision before the request's body is read (a request gate): a role that may call the
 * method with the right message passes, and `authorize` checks the message once it is in.
 */
export function authorizeMethod(method: string, principal: Principal): Decision {
  return decide(method, principal, () => true);
}

function decide(method: string, principal: Principal, ownAdapter: (role: Role) => boolean): Decision {
  const access = PERMISSIONS.get(method);
  if (!access) return deny("unknown_method");
  if (access.kind !== "roles") return ALLOW;
  let otherAdapter = false;
  for (const role of principal.roles) {
    const kind = kindOf(role);
    if (!access.roles.includes(kind)) continue;
    if (kind === "adapter" && access.ownAdapter && !ownAdapter(role)) {
      otherAdapter = true;
      continue;
    }
    return ALLOW;
  }
  return deny(otherAdapter ? "other_adapter" : "role_missing");
}

function reportedAdapter(message: unknown): string | undefined {
  const adapter = typeof message === "object" && message !== null ? (message as { adapter?: unknown }).adapter : undefined;
  return typeof adapter === "string" ? adapter : undefined;
}
