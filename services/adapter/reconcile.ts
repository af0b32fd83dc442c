import { create, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Cluster } from "../../gen/hyperfleet/v1/cluster_pb.js";
import type { NodePool } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import { ConditionStatus } from "../../gen/hyperfleet/v1/condition_pb.js";
import { Phase, ResourceView } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { ReportStatusRequestSchema, type AdapterStatus, type ReportStatusRequest } from "../../gen/hyperfleet/v1/status_pb.js";
import { withRetry, type ApiClient } from "../shared/api-client.js";
import { DRIFT_CHECK_AFTER_MS } from "./drift-check.js";
import type { AdapterPlan, ObjectPlan } from "./adapter-config.js";
import { toConditions, type ObjectObservation, type ReportReason, type Situation } from "./core/conditions.js";
import { plan as planObject, type Plan } from "./core/plan.js";
import { checkPreconditions } from "./core/preconditions.js";
import type { ExprVars } from "./expressions.js";
import { KubeError, type KubeObject, type KubeObjects } from "./kube.js";
import type { ObjectCache } from "./object-cache.js";
import { ANNOTATION_GENERATION, LABEL_ADAPTER, LABEL_CLUSTER, LABEL_NODEPOOL } from "./core/labels.js";

export { ANNOTATION_GENERATION, LABEL_ADAPTER, LABEL_CLUSTER, LABEL_NODEPOOL };

/** How one event ended; the closed set used in metrics, GetStatus and DryRun. */
export type ReconcileOutcome = "Reported" | "PreconditionsNotMet" | "ResourceGone" | "KubernetesError" | "TemplateError" | "Finalized" | "Deleting" | "ApiError";

/** An object's manifest template failed to render for this resource: a configuration problem, not Kubernetes'. */
export class TemplateError extends Error {
  constructor(readonly objectId: string, detail: string) {
    super(`object ${objectId}: ${detail}`);
    this.name = "TemplateError";
  }
}

/** One object's planned (and, outside dry runs, applied) action. */
export interface ObjectStep {
  id: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  action: Plan["action"] | "delete";
  reason: string;
  manifest?: JsonObject;
}

export interface ReconcileResult {
  outcome: ReconcileOutcome;
  /** A nodepool's cluster, once the nodepool was read (for logs). */
  clusterId?: string;
  reason?: ReportReason;
  trace: string[];
  objects: ObjectStep[];
  report?: ReportStatusRequest;
  error?: string;
}

export interface ReconcileDeps {
  plan: AdapterPlan;
  api: ApiClient;
  kube: KubeObjects;
  /** The adapter's own objects as its watch sees them; reads of existing objects come from here when it can answer. */
  cache?: ObjectCache;
  /** An event for a Ready resource this adapter last reported on longer ago is a drift check (default 60 s). */
  driftCheckAfterMs?: number;
  /** Counts where each read of an existing object was answered (metrics). */
  onObjectRead?: (source: "cache" | "kubernetes" | "drift-check") => void;
  now: () => Date;
}

/**
 * Spec §6, level-triggered: read the resource and the world fresh, converge the adapter's objects,
 * report what was seen (always). Nothing depends on why the event came. With `dryRun`, Kubernetes
 * and the API are only read: no object is written and no report is sent.
 */
export async function reconcile(deps: ReconcileDeps, resourceId: string, dryRun = false): Promise<ReconcileResult> {
  const trace: string[] = [];
  const steps: ObjectStep[] = [];
  for (let attempt = 1; ; attempt++) {
    const r = await reconcileOnce(deps, resourceId, dryRun, attempt, trace, steps);
    if (!("again" in r)) return r;
    trace.push(`${r.again}: reconciling again`);
  }
}

/** Attempts of one reconcile: a race with another replica (see Raced) is resolved by reading again. */
const MAX_ATTEMPTS = 3;

/**
 * What another replica's reconcile of the same resource did meanwhile showed up: a conditional write
 * failed (409), or an object is newer than the resource as read. Reading everything again resolves it.
 */
class Raced extends Error {}

async function reconcileOnce(deps: ReconcileDeps, resourceId: string, dryRun: boolean, attempt: number, trace: string[], steps: ObjectStep[]): Promise<ReconcileResult | { again: string }> {
  const { plan, api } = deps;
  let cluster: Cluster;
  let nodepool: NodePool | undefined;
  let statuses: AdapterStatus[];
  try {
    // The FULL view brings the resource's status rows in the same call (and the same snapshot).
    if (plan.resourceKind === "nodepools") {
      nodepool = await withRetry(() => api.nodepools.getNodePool({ id: resourceId, view: ResourceView.FULL }));
      const owner = nodepool.clusterId;
      cluster = await withRetry(() => api.clusters.getCluster({ id: owner }));
      statuses = nodepool.adapterStatuses;
      nodepool.adapterStatuses = [];
    } else {
      cluster = await withRetry(() => api.clusters.getCluster({ id: resourceId, view: ResourceView.FULL }));
      statuses = cluster.adapterStatuses;
      // Expressions read statuses as adapters.<name>, for either kind; not also as cluster.adapter_statuses.
      cluster.adapterStatuses = [];
    }
  } catch (err) {
    if (ConnectError.from(err).code === Code.NotFound) {
      trace.push(`resource ${resourceId} is gone: nothing to report`);
      return { outcome: "ResourceGone", trace, objects: steps };
    }
    return { outcome: "ApiError", trace: [...trace, `API: ${ConnectError.from(err).message}`], objects: steps, error: ConnectError.from(err).message };
  }
  const own = statuses.find((s) => s.adapter === plan.name);
  // A Ready resource this adapter has not reported on for a while: the event is the drift check
  // (spec §7), not the tail of its convergence (events published just before it turned Ready).
  const phase = (nodepool ?? cluster).status?.phase;
  const driftCheck = phase === Phase.READY && (!own?.lastReportTime || deps.now().getTime() - timestampDate(own.lastReportTime).getTime() > (deps.driftCheckAfterMs ?? DRIFT_CHECK_AFTER_MS));
  const resource: Resource = nodepool
    ? { id: nodepool.id, generation: nodepool.generation, deletedTime: nodepool.deletedTime, clusterId: cluster.id, nodepoolId: nodepool.id, driftCheck }
    : { id: cluster.id, generation: cluster.generation, deletedTime: cluster.deletedTime, clusterId: cluster.id, driftCheck };
  const generation = Number(resource.generation);
  trace.push(`fetched ${nodepool ? "nodepool" : "cluster"} ${resource.id} at generation ${generation}${resource.deletedTime ? " (being deleted)" : ""}`);
  const vars: ExprVars = { cluster, nodepool, adapters: Object.fromEntries(statuses.map((s) => [s.adapter, s])), objects: {} };

  let situation: Situation;
  let data: JsonObject | undefined;
  // Where this attempt's steps start: an object it created (even one before a later object failed)
  // must not outlive a deletion its report learns of (see afterCreate).
  const attemptSteps = steps.length;
  try {
    if (resource.deletedTime) {
      situation = await cleanup(deps, resource, trace, steps, dryRun);
    } else {
      const when = plan.preconditions.when?.eval(vars);
      const pre = checkPreconditions({
        generation,
        required: plan.preconditions.adapters,
        statuses: statuses.map((s) => {
          const available = s.conditions.find((c) => c.type === "Available");
          return {
            adapter: s.adapter,
            observedGeneration: Number(s.observedGeneration),
            available: wordOf(available?.status),
            applied: wordOf(s.conditions.find((c) => c.type === "Applied")?.status),
            health: wordOf(s.conditions.find((c) => c.type === "Health")?.status),
            reason: available?.reason,
          };
        }),
        lastReconciledGeneration: lastReconciledGeneration((nodepool ?? cluster).status?.conditions ?? []),
        when: when && ("error" in when ? when : { value: when.value === true }),
      });
      if (!pre.met) {
        trace.push(`preconditions not met: ${pre.message}`);
        situation = { kind: "preconditionsNotMet", message: pre.message };
      } else {
        trace.push(pre.working ? `preconditions met (${pre.working.join(", ")} working on generation ${generation} after an earlier generation was reconciled)` : "preconditions met");
        const observed: ObjectObservation[] = [];
        for (const o of plan.objects) observed.push(await converge(deps, o, vars, resource, own, trace, steps, dryRun, attempt));
        situation = { kind: "observed", objects: observed };
        data = evalData(plan, vars, trace);
      }
    }
  } catch (err) {
    if (err instanceof Raced && attempt < MAX_ATTEMPTS) return { again: err.message };
    if (err instanceof TemplateError) {
      trace.push(`template error: ${err.message}`);
      situation = { kind: "templateError", message: err.message };
    } else if (err instanceof KubeError || err instanceof Raced) {
      // A race lost on every attempt reads as a Kubernetes error (409); the next event tries again.
      trace.push(`kubernetes error: ${err.message}`);
      situation = { kind: "kubernetesError", message: err.message };
    } else throw err;
  }

  const { conditions, reason } = toConditions(situation);
  const report = create(ReportStatusRequestSchema, {
    resourceId: resource.id,
    adapter: plan.name,
    observedGeneration: resource.generation,
    observedTime: timestampFromDate(deps.now()),
    conditions: conditions.map((c) => ({ type: c.type, status: STATUS[c.status], reason: c.reason, message: c.message })),
    data,
  });
  const outcome: ReconcileOutcome = outcomeOf(situation);
  trace.push(`report: ${conditions.map((c) => `${c.type}=${c.status}`).join(" ")} (${reason}) at generation ${generation}`);
  const parent = nodepool ? { clusterId: cluster.id } : {};
  if (dryRun) return { outcome, ...parent, reason, trace, objects: steps, report };
  const created = steps.slice(attemptSteps).some((s) => s.action === "create" || s.action === "recreate");
  // The reconcile that follows only cleans up (it creates nothing), so it may take one attempt more.
  try {
    const res = await withRetry(() => api.statuses.reportStatus(report));
    if (!res.stored) trace.push(`the API discarded the report (${res.outcome})`);
    const why = created ? afterCreate(resource, res.resourceDeletedTime !== undefined) : undefined;
    if (why && attempt <= MAX_ATTEMPTS) return { again: why };
  } catch (err) {
    const why = created && ConnectError.from(err).code === Code.NotFound ? afterCreate(resource, "removed") : undefined;
    if (why && attempt <= MAX_ATTEMPTS) return { again: why };
    return { outcome: "ApiError", ...parent, reason, trace: [...trace, `report failed: ${ConnectError.from(err).message}`], objects: steps, report, error: ConnectError.from(err).message };
  }
  return { outcome, ...parent, reason, trace, objects: steps, report, error: situation.kind === "kubernetesError" || situation.kind === "templateError" ? situation.message : undefined };
}

function outcomeOf(s: Situation): ReconcileOutcome {
  switch (s.kind) {
    case "preconditionsNotMet": return "PreconditionsNotMet";
    case "kubernetesError": return "KubernetesError";
    case "templateError": return "TemplateError";
    case "deleting": return s.remaining.length ? "Deleting" : "Finalized";
    case "observed": return "Reported";
  }
}

/** The resource an event is about, whichever its kind. */
interface Resource {
  id: string;
  generation: bigint;
  deletedTime: unknown;
  clusterId: string;
  nodepoolId?: string;
  /** This event is a drift check (spec §7), which reads Kubernetes itself. */
  driftCheck: boolean;
}

const STATUS = { True: ConditionStatus.TRUE, False: ConditionStatus.FALSE, Unknown: ConditionStatus.UNKNOWN } as const;

function wordOf(s: ConditionStatus | undefined): "True" | "False" | "Unknown" | undefined {
  return s === ConditionStatus.TRUE ? "True" : s === ConditionStatus.FALSE ? "False" : s === ConditionStatus.UNKNOWN ? "Unknown" : undefined;
}

/** Renders, plans, applies and observes one object; its live state joins `vars.objects`. */
async function converge(
  deps: ReconcileDeps,
  o: ObjectPlan,
  vars: ExprVars,
  resource: Resource,
  own: AdapterStatus | undefined,
  trace: string[],
  steps: ObjectStep[],
  dryRun: boolean,
  attempt: number,
): Promise<ObjectObservation> {
  const rendered = o.template.render(vars);
  if ("error" in rendered) throw new TemplateError(o.id, rendered.error);
  const generation = Number(resource.generation);
  const desired = withOwnership(rendered.value as unknown as KubeObject, deps.plan, resource);
  const ref = { apiVersion: desired.apiVersion!, kind: desired.kind!, namespace: desired.metadata?.namespace, name: desired.metadata!.name! };
  // From the watch-fed cache while converging; a Ready resource's event is the drift check that
  // exists to catch out-of-band changes (spec §7), so it asks Kubernetes, as does a cache miss and a
  // second attempt (the first lost a race, possibly to what the cache has not seen yet).
  const fromCache = !resource.driftCheck && attempt === 1;
  const cached = fromCache ? deps.cache?.lookup(ref) : undefined;
  // A miss for a kind whose informer is watching: the object is most likely new, so it is created at
  // once, and AlreadyExists (an object the watch has not delivered yet, or one without our label)
  // falls back to reading it. Each new object saves a read that answers 404 (client-node's request
  // pipeline and a thrown ApiException: 30,000 of them in a 10,000-cluster convergence).
  const made = !cached && fromCache && !dryRun && deps.cache?.watches(ref) ? await createIfAbsent(deps.kube, desired) : undefined;
  if (!made) deps.onObjectRead?.(cached ? "cache" : resource.driftCheck ? "drift-check" : "kubernetes");
  const existing = made ? undefined : (cached ?? (await deps.kube.get(ref)));
  const annotated = existing?.metadata?.annotations?.[ANNOTATION_GENERATION];
  const p = planObject({
    generation,
    strategy: o.strategy,
    exists: existing !== undefined,
    existingGeneration: annotated === undefined ? null : Number(annotated),
    appliedAtGeneration: Number(own?.observedGeneration ?? 0) === generation && own?.conditions.some((c) => c.type === "Applied" && c.status === ConditionStatus.TRUE) === true,
    reread: attempt > 1,
  });
  steps.push({ id: o.id, ...ref, action: p.action, reason: p.reason, manifest: desired as unknown as JsonObject });
  trace.push(`${o.id}: ${ref.kind} ${ref.name}: ${p.action} (${p.reason})`);
  let live: KubeObject | undefined = existing;
  if (p.action === "reread") throw new Raced(`${o.id}: ${ref.kind} ${ref.name} is at generation ${annotated}, newer than ${generation}`);
  if (made) live = made;
  else if (!dryRun) {
    switch (p.action) {
      case "recreate":
        if (existing) {
          await deps.kube.delete(ref);
          deps.cache?.forget(ref);
        }
        live = await createOrGet(deps.kube, desired);
        break;
      case "create":
        live = await createOrGet(deps.kube, desired);
        break;
      case "replace": {
        // Conditional on the version read: a write by anyone since then (another replica converging a
        // newer generation) fails with 409 instead of being overwritten with what this reconcile read.
        const resourceVersion = existing?.metadata?.resourceVersion;
        const patch: KubeObject =
          o.strategy === "annotate"
            ? { apiVersion: desired.apiVersion, kind: desired.kind, metadata: { name: ref.name, namespace: ref.namespace, labels: desired.metadata?.labels, annotations: desired.metadata?.annotations, resourceVersion } }
            : { ...desired, metadata: { ...desired.metadata, resourceVersion } };
        try {
          live = await deps.kube.patch(patch);
        } catch (err) {
          if (err instanceof KubeError && err.code === 409) throw new Raced(`${o.id}: ${ref.kind} ${ref.name} changed since it was read`);
          throw err;
        }
        break;
      }
      case "skip":
        break;
    }
  }
  vars.objects[o.id] = live ?? null;
  const scope = { ...vars, object: live ?? null };
  const truth = (c: typeof o.readiness.ready | undefined) => {
    const r = c?.eval(scope);
    return r !== undefined && "value" in r && r.value === true;
  };
  const msg = o.readiness.message?.eval(scope);
  return {
    id: o.id,
    name: ref.name,
    preset: o.readiness.preset,
    exists: live !== undefined,
    ready: live !== undefined && truth(o.readiness.ready),
    failed: live !== undefined && truth(o.readiness.failed),
    message: msg && "value" in msg && typeof msg.value === "string" ? msg.value : "",
  };
}

/**
 * Why the objects just created are not wanted after all: the report sent after creating them found the
 * resource deleted or removed meanwhile (undefined: it did not). A create may land after another
 * replica's cleanup listed this resource's objects. That cleanup read the deletion before listing, and
 * the report reads the resource after the create, so one of the two always sees the other. The report
 * answers this in the same call, without reading the resource again.
 */
function afterCreate(resource: Resource, deleted: boolean | "removed"): string | undefined {
  if (deleted === "removed") return `${resource.id} was removed while its objects were created`;
  return deleted ? `${resource.id} was deleted while its objects were created` : undefined;
}

/** Creates `obj` unless it exists (undefined then: the caller reads it). */
async function createIfAbsent(kube: KubeObjects, obj: KubeObject): Promise<KubeObject | undefined> {
  try {
    return await kube.create(obj);
  } catch (err) {
    if (err instanceof KubeError && err.code === 409) return undefined;
    throw err;
  }
}

/** Deterministic names make AlreadyExists the lock: a concurrent creator's object is simply read. */
async function createOrGet(kube: KubeObjects, obj: KubeObject): Promise<KubeObject> {
  try {
    return await kube.create(obj);
  } catch (err) {
    if (err instanceof KubeError && err.code === 409) {
      const got = await kube.get({ apiVersion: obj.apiVersion!, kind: obj.kind!, namespace: obj.metadata?.namespace, name: obj.metadata!.name! });
      if (got) return got;
    }
    throw err;
  }
}

/** Labels and the generation annotation every object carries (spec §6 step 4). */
function withOwnership(obj: KubeObject, plan: AdapterPlan, resource: Resource): KubeObject {
  const metadata = obj.metadata ?? {};
  const owner = { [LABEL_CLUSTER]: resource.clusterId, ...(resource.nodepoolId ? { [LABEL_NODEPOOL]: resource.nodepoolId } : {}) };
  return {
    ...obj,
    metadata: {
      ...metadata,
      namespace: metadata.namespace ?? plan.namespace,
      labels: { ...(metadata.labels ?? {}), ...owner, [LABEL_ADAPTER]: plan.name },
      annotations: { ...(metadata.annotations ?? {}), [ANNOTATION_GENERATION]: String(resource.generation) },
    },
  };
}

/** Deletion (spec §8): delete every object this adapter made for the resource, newest kind first. */
async function cleanup(deps: ReconcileDeps, resource: Resource, trace: string[], steps: ObjectStep[], dryRun: boolean): Promise<Situation> {
  const owner = resource.nodepoolId ? `${LABEL_NODEPOOL}=${resource.nodepoolId}` : `${LABEL_CLUSTER}=${resource.clusterId}`;
  const selector = `${owner},${LABEL_ADAPTER}=${deps.plan.name}`;
  const remaining: string[] = [];
  for (const o of [...deps.plan.objects].reverse()) {
    const { items: found } = await deps.kube.list(o.apiVersion, o.kind, deps.plan.namespace, selector);
    for (const obj of found) {
      const ref = { apiVersion: o.apiVersion, kind: o.kind, namespace: obj.metadata?.namespace, name: obj.metadata?.name ?? "" };
      steps.push({ id: o.id, ...ref, action: "delete", reason: "ResourceDeleting" });
      trace.push(`${o.id}: ${o.kind} ${ref.name}: delete`);
      if (!dryRun) {
        await deps.kube.delete(ref);
        deps.cache?.forget(ref);
      }
      if (dryRun || (await deps.kube.get(ref))) remaining.push(ref.name);
    }
  }
  return { kind: "deleting", remaining };
}

function evalData(plan: AdapterPlan, vars: ExprVars, trace: string[]): JsonObject | undefined {
  const entries: [string, JsonValue][] = [];
  for (const [k, c] of Object.entries(plan.data)) {
    const r = c.eval(vars);
    if ("error" in r) trace.push(`data.${k}: not available (${r.error})`);
    else if (r.value !== null && r.value !== "") entries.push([k, r.value]);
  }
  return entries.length ? Object.fromEntries(entries) : undefined;
}

/** The generation the resource was last reconciled at: its LastKnownReconciled condition's, when True; 0 when never. */
function lastReconciledGeneration(conditions: readonly { type: string; status: ConditionStatus; observedGeneration: bigint }[]): number {
  const c = conditions.find((x) => x.type === "LastKnownReconciled");
  return c && c.status === ConditionStatus.TRUE ? Number(c.observedGeneration) : 0;
}
