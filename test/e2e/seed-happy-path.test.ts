/**
 * ../shared/spec/seed-happy-path.txt end to end, against the whole running system (API, Sentinel,
 * three adapters, the Kubernetes stand-in, the Pub/Sub emulator) with time compressed. A recorder
 * polls the API and Kubernetes and keeps every change it sees; assertions are about the order of
 * those changes, as the seed tells it.
 *
 * @requires pubsub
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import type { Cluster } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { ConditionStatus } from "../../gen/hyperfleet/v1/condition_pb.js";
import { Phase } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { createApiClient, type ApiClient } from "../../services/shared/api-client.js";
import { createBroker, subscriptionName, topicName, topicTopology, type Broker } from "../../services/shared/broker/index.js";
import { decodeReconcileEvent } from "../../services/shared/events/index.js";
import { startStack, type RunningStack } from "../support/start-stack.js";
import { eventually } from "../support/brokers.js";

// Against an already running stack (HF_E2E_API_URL) this must match its MAX_AGE_READY.
const MAX_AGE_READY_MS = Number(process.env.HF_E2E_MAX_AGE_READY_MS ?? 8000);
let stack: RunningStack;
let api: ApiClient;
let kube: KubernetesObjectApi;
let broker: Broker;
/** Events seen, stamped with the Sentinel's own poll time (the CloudEvent `time`), not arrival. */
const events: { id: string; generation: number; at: number }[] = [];

beforeAll(async () => {
  stack = await startStack({
    POLL_INTERVAL: "250ms",
    MAX_AGE_NOT_READY: "500ms",
    MAX_AGE_READY: `${MAX_AGE_READY_MS}ms`,
    // Validation's Job outlasts DNS's delay, so that 42:02 (dns done at generation 2 while validation's
    // generation-2 Job still runs) has seconds to show, not milliseconds.
    STANDIN_JOB_DURATION: "6s",
    STANDIN_DNS_DELAY: "1s",
  });
  api = createApiClient(stack.apiUrl, { interceptors: stack.credentials });
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: "e2e", server: stack.kubeUrl, skipTLSVerify: true }, { name: "e2e" });
  kube = KubernetesObjectApi.makeApiClient(kc);
  broker = createBroker({ kind: "pubsub", projectId: "hyperfleet-local", emulatorHost: stack.brokerEnv.PUBSUB_EMULATOR_HOST ?? "127.0.0.1:8085" });
  const topic = topicName(stack.namespace, "clusters");
  await broker.provision(topicTopology(topic, ["e2e"]));
  await broker.subscribe(subscriptionName(topic, "e2e"), async (m) => {
    const d = decodeReconcileEvent(m.data);
    if (d.ok) events.push({ id: d.event.data.id, generation: d.event.data.generation, at: Date.parse(d.event.time) });
    return "ack";
  });
}, 120_000);
afterAll(async () => {
  await broker?.close();
  await stack?.stop();
}, 60_000);

interface Snapshot {
  at: number;
  cluster: Cluster;
  adapters: Record<string, { gen: number; applied: string; available: string; reason: string; data?: unknown; lastReport: number; availableSince: number }>;
  jobs: { name: string; uid: string; gen: string }[];
}

const word = (s: ConditionStatus | undefined) => (s === ConditionStatus.TRUE ? "True" : s === ConditionStatus.FALSE ? "False" : "Unknown");

async function snapshot(id: string): Promise<Snapshot> {
  const [cluster, { statuses }, jobs] = await Promise.all([
    api.clusters.getCluster({ id }),
    api.statuses.listStatuses({ resourceId: id }),
    kube.list<KubernetesObject>("batch/v1", "Job", "hyperfleet", undefined, undefined, undefined, undefined, `hyperfleet.io/cluster-id=${id}`),
  ]);
  const adapters: Snapshot["adapters"] = {};
  for (const s of statuses) {
    const av = s.conditions.find((c) => c.type === "Available");
    adapters[s.adapter] = {
      gen: Number(s.observedGeneration),
      applied: word(s.conditions.find((c) => c.type === "Applied")?.status),
      available: word(av?.status),
      reason: av?.reason ?? "",
      data: s.data,
      lastReport: timestampDate(s.lastReportTime!).getTime(),
      availableSince: av?.lastTransitionTime ? timestampDate(av.lastTransitionTime).getTime() : NaN,
    };
  }
  return { at: Date.now(), cluster, adapters, jobs: jobs.items.map((j) => ({ name: j.metadata!.name!, uid: j.metadata!.uid!, gen: j.metadata!.annotations?.["hyperfleet.io/generation"] ?? "" })) };
}

/** Polls until `done(snapshot)`, returning every snapshot taken. */
async function record(id: string, done: (s: Snapshot) => boolean, timeoutMs: number): Promise<Snapshot[]> {
  const out: Snapshot[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await snapshot(id);
    out.push(s);
    if (done(s)) return out;
    if (Date.now() > deadline) throw new Error(`timed out; last snapshot: ${JSON.stringify(s.adapters)}\n${stack.logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Index of the first snapshot where `pred` holds (-1 if never). */
const first = (snaps: Snapshot[], pred: (s: Snapshot) => boolean) => snaps.findIndex(pred);
const ready = (s: Snapshot) => s.cluster.status?.phase === Phase.READY;

test("seed happy path: create → adapters in dependency order → Ready → drift check → generation 2 → Ready", async () => {
  // A name of its own per run: against a stack that outlives the suite (HF_E2E_API_URL, docker
  // compose), a second run would otherwise meet the first one's cluster (AlreadyExists).
  const name = `cls-123-${Date.now().toString(36)}`;
  const c = await api.clusters.createCluster({ name, spec: { region: "us-east-1", simulate: { placementDuration: "2s" } } });

  // 00:00 → 11:02: the cluster walks to Ready.
  const walk = await record(c.id, ready, 60_000);
  const v = (s: Snapshot) => s.adapters.validation;
  const dns = (s: Snapshot) => s.adapters.dns;
  const pl = (s: Snapshot) => s.adapters.placement;

  // 00:02 validation creates its Job and reports Applied=True, Available=False first.
  const vFirst = first(walk, (s) => v(s) !== undefined);
  expect(v(walk[vFirst])).toMatchObject({ gen: 1, applied: "True", available: "False", reason: "JobRunning" });
  expect(walk[vFirst].jobs.map((j) => j.name)).toContain(`validation-${c.id}-gen1`);
  const vAvailable = first(walk, (s) => v(s)?.available === "True");
  expect(vAvailable).toBeGreaterThan(vFirst);

  // dns reports PreconditionsNotMet until validation is Available, then creates its record and reports data.dns.
  const dnsApplied = first(walk, (s) => dns(s)?.applied === "True");
  expect(dnsApplied).toBeGreaterThanOrEqual(vAvailable);
  for (const s of walk.slice(0, vAvailable)) if (dns(s)) expect(dns(s)).toMatchObject({ applied: "False", reason: "PreconditionsNotMet" });
  const dnsAvailable = first(walk, (s) => dns(s)?.available === "True");
  expect(dns(walk[dnsAvailable]).data).toEqual({ dns: `${name}.hyperfleet.example.com` });

  // placement only after both.
  const plApplied = first(walk, (s) => pl(s)?.applied === "True");
  expect(plApplied).toBeGreaterThanOrEqual(dnsAvailable);
  for (const s of walk.slice(0, dnsAvailable)) if (pl(s)) expect(pl(s).reason).toBe("PreconditionsNotMet");

  // 11:02 Ready, with last_transition_time when placement turned Available (the time of that report:
  // a later placement report, e.g. one its watch triggered, may already have moved last_report_time).
  const readyAt = walk[walk.length - 1];
  const ltt = timestampDate(readyAt.cluster.status!.lastTransitionTime!).getTime();
  expect(ltt).toBe(pl(readyAt).availableSince);

  // 11:11 → 41:11: Ready, no events until the drift check; then every adapter reports again and nothing is re-created.
  const eventsAt = (from: number) => events.filter((e) => e.id === c.id && e.at > from);
  const lut = timestampDate(readyAt.cluster.status!.lastUpdatedTime!).getTime();
  const quietUntil = lut + MAX_AGE_READY_MS - 1000;
  await new Promise((r) => setTimeout(r, Math.max(0, quietUntil - Date.now())));
  // Nothing published by a poll that started after the cluster turned Ready. A poll can straddle it,
  // and last_transition_time is taken before the report commits (later on a loaded machine), so
  // polls in the first 2 s after it may still have read NotReady.
  expect(eventsAt(ltt + 2000).filter((e) => e.at < quietUntil)).toEqual([]);
  const drift = await eventually(() => eventsAt(quietUntil)[0], 15_000, 100);
  const afterDrift = await record(c.id, (s) => ["validation", "dns", "placement"].every((a) => s.adapters[a].lastReport > drift.at - 1000), 10_000);
  const end = afterDrift[afterDrift.length - 1];
  expect(ready(end)).toBe(true);
  expect(end.jobs.map((j) => j.uid).sort()).toEqual(readyAt.jobs.map((j) => j.uid).sort());

  // 42:00 the user modifies the cluster: generation 2.
  const updated = await api.clusters.updateCluster({ id: c.id, spec: { region: "us-east-2", simulate: { placementDuration: "2s" } } });
  expect(updated.generation).toBe(2n);
  const gen2 = await record(c.id, (s) => ready(s) && s.cluster.status?.observedGeneration === 2n, 60_000);
  // A second validation Job, for generation 2.
  expect(gen2[gen2.length - 1].jobs.map((j) => j.name).sort()).toEqual([`placement-${c.id}`, `validation-${c.id}-gen1`, `validation-${c.id}-gen2`].sort());
  // dns reports generation 2 at once (before validation finishes generation 2) ...
  const v2Available = first(gen2, (s) => v(s)?.gen === 2 && v(s)?.available === "True");
  const dns2 = first(gen2, (s) => dns(s)?.gen === 2);
  expect(dns2).toBeGreaterThanOrEqual(0);
  expect(dns2).toBeLessThanOrEqual(v2Available);
  // 42:02 (spec §6.3): validation's generation-2 Job runs (it was Available at 1), so dns patches its
  // record and reports generation 2 Applied=True Available=True meanwhile, and placement follows.
  const at4202 = first(gen2, (s) => dns(s)?.gen === 2 && dns(s)?.available === "True" && v(s)?.gen === 2 && v(s)?.available === "False");
  expect(at4202).toBeGreaterThanOrEqual(0);
  expect(v(gen2[at4202]).reason).toBe("JobRunning");
  const pl2 = first(gen2, (s) => pl(s)?.gen === 2 && pl(s)?.applied === "True");
  expect(pl2).toBeGreaterThanOrEqual(0);
  expect(pl2).toBeLessThanOrEqual(v2Available);
  // ... validation reports generation 2 Available=False until its Job completes ...
  const v2 = first(gen2, (s) => v(s)?.gen === 2);
  expect(v(gen2[v2])).toMatchObject({ applied: "True", available: "False" });
  // ... while the cluster is NotReady at 2 and LastKnownReconciled still vouches for generation 1.
  const notReady2 = gen2.find((s) => s.cluster.generation === 2n && !ready(s))!;
  const lkr = notReady2.cluster.status!.conditions.find((x) => x.type === "LastKnownReconciled")!;
  expect([lkr.status, lkr.observedGeneration]).toEqual([ConditionStatus.TRUE, 1n]);
  // Back to Ready at generation 2.
  const final = gen2[gen2.length - 1];
  expect(final.cluster.status!.conditions.find((x) => x.type === "LastKnownReconciled")!.observedGeneration).toBe(2n);
}, 180_000);
