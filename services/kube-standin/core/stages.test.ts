import { isSettled, nextStage, OUTCOME_ANNOTATION, DURATION_ANNOTATION, type StagedObject, type StageName } from "./stages.js";
import { parseDuration } from "../../shared/config.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const cfg = { jobDurationMs: 20_000, dnsDelayMs: 10_000, speed: 1 };
const job = (annotations: Record<string, string> = {}, status?: Record<string, unknown>): StagedObject => ({
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { creationTimestamp: "2026-01-01T00:00:00Z", annotations },
  status,
});
const dns = (generation: number, status?: Record<string, unknown>): StagedObject => ({
  apiVersion: "hyperfleet.io/v1alpha1",
  kind: "DNSRecord",
  metadata: { creationTimestamp: "2026-01-01T00:00:00Z", generation },
  spec: { domain: "c1.hyperfleet.example" },
  status,
});
const at = (s: number) => new Date(T0 + s * 1000);

test.each([
  ["a new Job starts at once (seed: job running)", job(), 0, "JobStarted"],
  ["a started Job stays running until its duration", job({}, { startTime: "x", active: 1 }), 19.9, undefined],
  ["a Job completes after its duration (seed: job finished)", job({}, { startTime: "x", active: 1 }), 20, "JobComplete"],
  ["a Job asked to fail fails after its duration", job({ [OUTCOME_ANNOTATION]: "Failed" }), 20, "JobFailed"],
  ["the duration annotation overrides the default", job({ [DURATION_ANNOTATION]: "5s" }, { startTime: "x" }), 5, "JobComplete"],
  ["speed 10 makes a 20 s Job take 2 s", job({}, { startTime: "x" }), 2, "JobComplete"],
  ["a completed Job stays completed", job({}, { completionTime: "x" }), 100, undefined],
  ["a DNSRecord is pending before its delay", dns(1), 9, undefined],
  ["a DNSRecord is Ready after its delay (seed: DNS CRD is ready)", dns(1), 10, "DNSRecordReady"],
  ["a Ready DNSRecord stays as is", dns(1, { ready: true, observedGeneration: 1 }), 50, undefined],
  ["a DNSRecord whose spec changed is observed again", dns(2, { ready: true, observedGeneration: 1 }), 50, "DNSRecordReady"],
] as [string, StagedObject, number, StageName | undefined][])("%s", (name, obj, seconds, stage) => {
  const speed = name.startsWith("speed") ? 10 : 1;
  expect(nextStage(obj, at(seconds), { ...cfg, speed }, parseDuration)?.stage).toBe(stage);
});

test("a completed Job carries the status fields kubectl and the adapters read", () => {
  const r = nextStage(job({}, { startTime: "x" }), at(20), cfg, parseDuration);
  expect(r?.status).toMatchObject({ succeeded: 1, completionTime: "2026-01-01T00:00:20Z", conditions: expect.arrayContaining([expect.objectContaining({ type: "Complete", status: "True" })]) });
});

test.each([
  ["a new Job is in flight", job(), false],
  ["a running Job is in flight", job({}, { startTime: "x", active: 1 }), false],
  ["a completed Job is settled", job({}, { completionTime: "x" }), true],
  ["a failed Job is settled", job({}, { conditions: [{ type: "Failed", status: "True" }] }), true],
  ["a pending DNSRecord is in flight", dns(1), false],
  ["a Ready DNSRecord is settled", dns(1, { ready: true, observedGeneration: 1 }), true],
  ["a DNSRecord whose spec changed is in flight again", dns(2, { ready: true, observedGeneration: 1 }), false],
  ["a kind without stages is settled", { apiVersion: "v1", kind: "ConfigMap", metadata: {} }, true],
] as [string, StagedObject, boolean][])("isSettled: %s", (_name, obj, settled) => {
  expect(isSettled(obj)).toBe(settled);
});

test("every object isSettled calls settled has no next stage, however late", () => {
  const settled = [job({}, { completionTime: "x" }), dns(1, { ready: true, observedGeneration: 1 })];
  for (const o of settled) expect(nextStage(o, at(10_000), cfg, parseDuration)).toBeUndefined();
});
