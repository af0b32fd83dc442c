/**
 * KWOK-style stages: how the stand-in moves an object's status forward with time, since nothing runs
 * the Jobs or serves the DNS records. Pure: the object, its age and the durations in, a new status out.
 */

/** The subset of an object the stages read. */
export interface StagedObject {
  apiVersion: string;
  kind: string;
  metadata: { creationTimestamp?: string; generation?: number; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface StageConfig {
  /** How long a Job runs before it completes (or fails). */
  jobDurationMs: number;
  /** How long a DNSRecord takes to become Ready. */
  dnsDelayMs: number;
  /** Divides every duration: 60 turns the seed's minutes into seconds. */
  speed: number;
}

/** Annotations a template can set to steer a simulated Job. */
export const OUTCOME_ANNOTATION = "standin.hyperfleet.io/outcome";
export const DURATION_ANNOTATION = "standin.hyperfleet.io/duration";

/** Which stage produced the status; the closed set used in logs. */
export type StageName = "JobStarted" | "JobComplete" | "JobFailed" | "DNSRecordReady";

export interface StageResult {
  stage: StageName;
  status: Record<string, unknown>;
}

/**
 * The next status for `obj` at `now`, or undefined when it has reached its current stage.
 * `parseDuration` reads the per-object duration annotation ("20s").
 */
export function nextStage(obj: StagedObject, now: Date, cfg: StageConfig, parseDuration: (s: string) => number | undefined): StageResult | undefined {
  const created = Date.parse(obj.metadata.creationTimestamp ?? "");
  if (Number.isNaN(created)) return undefined;
  const elapsed = now.getTime() - created;
  const status = obj.status ?? {};
  if (obj.apiVersion === "batch/v1" && obj.kind === "Job") {
    if (status.completionTime || hasCondition(status, "Failed")) return undefined;
    const override = obj.metadata.annotations?.[DURATION_ANNOTATION];
    const duration = ((override ? parseDuration(override) : undefined) ?? cfg.jobDurationMs) / cfg.speed;
    const startTime = iso(created);
    if (elapsed < duration) {
      return status.startTime ? undefined : { stage: "JobStarted", status: { startTime, active: 1, ready: 0 } };
    }
    const at = iso(created + duration);
    if (obj.metadata.annotations?.[OUTCOME_ANNOTATION] === "Failed") {
      return {
        stage: "JobFailed",
        status: {
          startTime,
          failed: 1,
          conditions: [
            condition("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit", at),
            condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit", at),
          ],
        },
      };
    }
    return {
      stage: "JobComplete",
      status: {
        startTime,
        completionTime: at,
        succeeded: 1,
        conditions: [condition("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods", at), condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods", at)],
      },
    };
  }
  if (obj.kind === "DNSRecord") {
    if (status.ready === true && status.observedGeneration === obj.metadata.generation) return undefined;
    if (elapsed < cfg.dnsDelayMs / cfg.speed) return undefined;
    const domain = typeof obj.spec?.domain === "string" ? obj.spec.domain : "";
    const at = iso(created + cfg.dnsDelayMs / cfg.speed);
    return {
      stage: "DNSRecordReady",
      status: { ready: true, domain, observedGeneration: obj.metadata.generation ?? 1, conditions: [condition("Ready", "RecordPublished", `${domain} resolves`, at)] },
    };
  }
  return undefined;
}

/**
 * Whether no stage can apply to `obj` until it is written again: a finished Job, a DNSRecord that has
 * observed its generation, or any kind the stages do not move. Lets the runner look only at objects
 * still in flight instead of the whole store on every tick.
 */
export function isSettled(obj: StagedObject): boolean {
  const status = obj.status ?? {};
  if (obj.apiVersion === "batch/v1" && obj.kind === "Job") return Boolean(status.completionTime) || hasCondition(status, "Failed");
  if (obj.kind === "DNSRecord") return status.ready === true && status.observedGeneration === obj.metadata.generation;
  return true;
}

function hasCondition(status: Record<string, unknown>, type: string): boolean {
  return Array.isArray(status.conditions) && status.conditions.some((c: { type?: string; status?: string }) => c.type === type && c.status === "True");
}

function condition(type: string, reason: string, message: string, at: string) {
  return { type, status: "True", reason, message, lastProbeTime: at, lastTransitionTime: at };
}

/** RFC 3339 with second precision, as Kubernetes writes times. */
function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
