import { MAX_MESSAGE_CHARS, toConditions, type ObjectObservation, type Situation } from "./conditions.js";

const job = (o: Partial<ObjectObservation>): ObjectObservation => ({ id: "job", name: "validation-c1-gen1", preset: "job", exists: true, ready: false, failed: false, message: "", ...o });
const record = (o: Partial<ObjectObservation>): ObjectObservation => ({ id: "record", name: "c1-dns", preset: "custom", exists: true, ready: false, failed: false, message: "", ...o });
const words = (s: Situation) => {
  const r = toConditions(s);
  return [r.reason, ...r.conditions.map((c) => `${c.type}=${c.status}`)].join(" ");
};

describe("toConditions (spec §3, §6 step 5)", () => {
  test.each([
    ["seed: preconditions not met → Applied=False Available=False Health=True", { kind: "preconditionsNotMet", message: "validation is not Available" }, "PreconditionsNotMet Applied=False Available=False Health=True"],
    ["seed: job running → Applied=True Available=False", { kind: "observed", objects: [job({})] }, "JobRunning Applied=True Available=False Health=True"],
    ["seed: job complete → Available=True", { kind: "observed", objects: [job({ ready: true })] }, "JobSucceeded Applied=True Available=True Health=True"],
    ["a failed job → Available=False, Health=True (the adapter worked)", { kind: "observed", objects: [job({ failed: true, message: "BackoffLimitExceeded" })] }, "JobFailed Applied=True Available=False Health=True"],
    ["DNS record created, not ready → Applied=True Available=False", { kind: "observed", objects: [record({})] }, "NotReady Applied=True Available=False Health=True"],
    ["DNS record ready → Available=True", { kind: "observed", objects: [record({ ready: true })] }, "Ready Applied=True Available=True Health=True"],
    ["Kubernetes unreachable → Health=False", { kind: "kubernetesError", message: "connect ECONNREFUSED" }, "KubernetesError Applied=Unknown Available=False Health=False"],
    ["a manifest that does not render → Applied=False, Health=False, not a Kubernetes error", { kind: "templateError", message: "object job: no such key: region" }, "TemplateError Applied=False Available=False Health=False"],
    ["deleting with objects left → Finalized=False", { kind: "deleting", remaining: ["c1-dns"] }, "Deleting Applied=False Available=False Health=True Finalized=False"],
    ["deleting, all gone → Finalized=True", { kind: "deleting", remaining: [] }, "Finalized Applied=False Available=False Health=True Finalized=True"],
  ] as [string, Situation, string][])("%s", (_name, situation, want) => {
    expect(words(situation)).toBe(want);
  });

  test("a failed job's reason reaches the Available message", () => {
    const r = toConditions({ kind: "observed", objects: [job({ failed: true, message: "Job has reached the specified backoff limit" })] });
    expect(r.conditions[1].message).toBe("validation-c1-gen1: Job has reached the specified backoff limit");
  });

  test("a Kubernetes error longer than the API accepts is cut, so the report stays valid", () => {
    const r = toConditions({ kind: "kubernetesError", message: "x".repeat(100_000) });
    for (const c of r.conditions) expect(c.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
    expect(r.conditions[0].message.endsWith("…")).toBe(true);
  });
});
