/** A condition of an adapter report (spec §3). */
export interface ReportCondition {
  type: "Applied" | "Available" | "Health" | "Finalized";
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

/** What the adapter saw of one object after applying it. */
export interface ObjectObservation {
  id: string;
  name: string;
  preset: "job" | "custom";
  exists: boolean;
  ready: boolean;
  failed: boolean;
  message: string;
}

/** The reasons a report can carry; the closed set that feeds metrics and the cluster's conditions. */
export type ReportReason =
  | "PreconditionsNotMet"
  | "KubernetesError"
  | "TemplateError"
  | "JobRunning"
  | "JobSucceeded"
  | "JobFailed"
  | "NotReady"
  | "Ready"
  | "Failed"
  | "ObjectMissing"
  | "Deleting"
  | "Finalized";

export type Situation =
  | { kind: "preconditionsNotMet"; message: string }
  | { kind: "kubernetesError"; message: string }
  | { kind: "templateError"; message: string }
  | { kind: "observed"; objects: ObjectObservation[] }
  | { kind: "deleting"; remaining: string[] };

/** The API refuses longer condition messages (services/api/limits.ts); a long Kubernetes error must not make the report invalid. */
export const MAX_MESSAGE_CHARS = 4096;
const cond = (type: ReportCondition["type"], status: ReportCondition["status"], reason: string, message = ""): ReportCondition => ({
  type,
  status,
  reason,
  message: message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…` : message,
});

/**
 * Maps what the adapter saw to the mandatory conditions (spec §3, §6 step 5): Applied = its objects
 * exist; Available = they are done and good; Health = the adapter itself worked (a failed Job is
 * Health=True, an unreachable Kubernetes is Health=False).
 */
export function toConditions(s: Situation): { conditions: ReportCondition[]; reason: ReportReason } {
  switch (s.kind) {
    case "preconditionsNotMet":
      return {
        reason: "PreconditionsNotMet",
        conditions: [cond("Applied", "False", "PreconditionsNotMet", s.message), cond("Available", "False", "PreconditionsNotMet", s.message), cond("Health", "True", "Healthy")],
      };
    case "kubernetesError":
      return {
        reason: "KubernetesError",
        conditions: [cond("Applied", "Unknown", "KubernetesError", s.message), cond("Available", "False", "KubernetesError", s.message), cond("Health", "False", "KubernetesError", s.message)],
      };
    case "templateError":
      // The adapter's own manifest could not be rendered for this resource: nothing was applied, and
      // the adapter is what needs fixing (its configuration, or the resource's spec it reads).
      return {
        reason: "TemplateError",
        conditions: [cond("Applied", "False", "TemplateError", s.message), cond("Available", "False", "TemplateError", s.message), cond("Health", "False", "TemplateError", s.message)],
      };
    case "deleting": {
      const done = s.remaining.length === 0;
      const message = done ? "all objects deleted" : `waiting for ${s.remaining.join(", ")} to be deleted`;
      return {
        reason: done ? "Finalized" : "Deleting",
        conditions: [
          cond("Applied", "False", "Deleting", message),
          cond("Available", "False", "Deleting", message),
          cond("Health", "True", "Healthy"),
          cond("Finalized", done ? "True" : "False", done ? "Finalized" : "Deleting", message),
        ],
      };
    }
    case "observed": {
      const missing = s.objects.filter((o) => !o.exists);
      const failed = s.objects.find((o) => o.failed);
      const pending = s.objects.filter((o) => o.exists && !o.ready && !o.failed);
      const job = s.objects.some((o) => o.preset === "job");
      const applied = missing.length === 0 ? cond("Applied", "True", "Applied", `${s.objects.map((o) => o.name).join(", ")} present`) : cond("Applied", "False", "ObjectMissing", `${missing.map((o) => o.name).join(", ")} missing`);
      let available: ReportCondition;
      let reason: ReportReason;
      if (missing.length > 0) [available, reason] = [cond("Available", "False", "ObjectMissing", applied.message), "ObjectMissing"];
      else if (failed) {
        reason = failed.preset === "job" ? "JobFailed" : "Failed";
        available = cond("Available", "False", reason, `${failed.name}: ${failed.message || "failed"}`);
      } else if (pending.length > 0) {
        reason = job ? "JobRunning" : "NotReady";
        available = cond("Available", "False", reason, `waiting for ${pending.map((o) => o.name).join(", ")}`);
      } else {
        reason = job ? "JobSucceeded" : "Ready";
        available = cond("Available", "True", reason, `${s.objects.map((o) => o.name).join(", ")} ready`);
      }
      return { reason, conditions: [applied, available, cond("Health", "True", "Healthy")] };
    }
  }
}
