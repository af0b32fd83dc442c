/**
 * The API's side of ../shared/spec/seed-happy-path.txt, replayed with the seed's own observed times:
 * every "Hyperfleet API: stores ..." and "marks status.phase=Ready" line is asserted.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { JsonObject } from "@bufbuild/protobuf";
import { ConditionStatus } from "../../gen/hyperfleet/v1/condition_pb.js";
import { Phase } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import type { Cluster } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { startApi, type TestApi } from "../../test/support/start-api.js";
import { conditionWord, reportRequest } from "../../test/support/reports.js";

const BASE = Date.UTC(2026, 0, 1, 10, 0, 0);
/** Seed times are MM:SS from cluster creation. */
const at = (mmss: string) => {
  const [m, s] = mmss.split(":").map(Number);
  return new Date(BASE + (m * 60 + s) * 1000);
};

type W = "True" | "False";
/** One seed row per adapter: [Applied, Available] (+ data). */
type Round = Record<"validation" | "dns" | "placement", [W, W, JsonObject?]>;
const DNS = { dns: "whatever.domain.com" };

const ROUNDS: [string, Round][] = [
  ["00:02", { validation: ["True", "False"], dns: ["False", "False"], placement: ["False", "False"] }],
  ["00:12", { validation: ["True", "False"], dns: ["False", "False"], placement: ["False", "False"] }],
  ["00:22", { validation: ["True", "True"], dns: ["False", "False"], placement: ["False", "False"] }],
  ["00:32", { validation: ["True", "True"], dns: ["True", "False"], placement: ["False", "False"] }],
  ["00:42", { validation: ["True", "True"], dns: ["True", "True", DNS], placement: ["False", "False"] }],
  ["00:52", { validation: ["True", "True"], dns: ["True", "True", DNS], placement: ["True", "False"] }],
  ["01:02", { validation: ["True", "True"], dns: ["True", "True", DNS], placement: ["True", "False"] }],
  ["11:02", { validation: ["True", "True"], dns: ["True", "True", DNS], placement: ["True", "True"] }],
  ["41:02", { validation: ["True", "True"], dns: ["True", "True", DNS], placement: ["True", "True"] }],
];

let api: TestApi;
let cluster: Cluster;
beforeAll(async () => {
  api = await startApi({ now: () => new Date(Date.now()) });
  cluster = await api.clusters.createCluster({ name: "cls-123", spec: { region: "us-east-1" } });
});
afterAll(() => api.close());

async function round(time: string, r: Round, generation = 1) {
  for (const [adapter, [applied, available, data]] of Object.entries(r)) {
    const res = await api.statuses.reportStatus(reportRequest({ resourceId: cluster.id, adapter, generation, at: at(time), applied, available, data }));
    expect(res.stored).toBe(true);
  }
}

async function rows() {
  const list = (await api.statuses.listStatuses({ resourceId: cluster.id })).statuses;
  return Object.fromEntries(list.map((s) => [s.adapter, s]));
}

const get = () => api.clusters.getCluster({ id: cluster.id });
const cond = (c: Cluster, type: string) => c.status!.conditions.find((x) => x.type === type)!;

describe("seed happy path, API side", () => {
  test.each(ROUNDS.slice(0, 7))("%s: stores each adapter's report (created_at=00:02, last_updated_time=now); still NotReady", async (time, r) => {
    await round(time, r);
    const stored = await rows();
    for (const [adapter, [applied, available, data]] of Object.entries(r)) {
      const s = stored[adapter];
      expect(s.observedGeneration).toBe(1n);
      expect(conditionWord(s.conditions, "Applied")).toBe(applied);
      expect(conditionWord(s.conditions, "Available")).toBe(available);
      expect(timestampDate(s.createdTime!)).toEqual(at("00:02"));
      expect(timestampDate(s.lastReportTime!)).toEqual(at(time));
      if (data) expect(s.data).toEqual(data);
    }
    const c = await get();
    expect(c.status!.phase).toBe(Phase.NOT_READY);
    expect(c.status!.observedGeneration).toBe(1n);
    expect(timestampDate(c.status!.lastUpdatedTime!)).toEqual(at(time));
  });

  test("11:02: placement Available=True → marks status.phase=Ready, last_transition_time=11:02", async () => {
    await round("11:02", ROUNDS[7][1]);
    const c = await get();
    expect(c.status!.phase).toBe(Phase.READY);
    expect(timestampDate(c.status!.lastTransitionTime!)).toEqual(at("11:02"));
    expect(timestampDate(c.status!.lastUpdatedTime!)).toEqual(at("11:02"));
    expect(cond(c, "Reconciled").status).toBe(ConditionStatus.TRUE);
    expect(cond(c, "PlacementSuccessful").observedGeneration).toBe(1n);
  });

  test("41:02: the drift check reports again; Ready stays, last_transition_time stays 11:02, last_updated_time moves", async () => {
    await round("41:02", ROUNDS[8][1]);
    const c = await get();
    expect(c.status!.phase).toBe(Phase.READY);
    expect(timestampDate(c.status!.lastTransitionTime!)).toEqual(at("11:02"));
    expect(timestampDate(c.status!.lastUpdatedTime!)).toEqual(at("41:02"));
  });

  test("42:00: user modifies the cluster → generation 2, NotReady, LastKnownReconciled still True at 1", async () => {
    const c = await api.clusters.updateCluster({ id: cluster.id, spec: { region: "us-east-2" } });
    expect(c.generation).toBe(2n);
    expect(c.status!.phase).toBe(Phase.NOT_READY);
    expect(c.status!.observedGeneration).toBe(1n);
    const lkr = cond(c, "LastKnownReconciled");
    expect([lkr.status, lkr.observedGeneration]).toEqual([ConditionStatus.TRUE, 1n]);
  });

  test("42:02: dns reports generation 2 → its row moves to 2; validation's gen-2 Available=False keeps LastKnownReconciled at 1", async () => {
    await api.statuses.reportStatus(reportRequest({ resourceId: cluster.id, adapter: "dns", generation: 2, at: at("42:02"), applied: "True", available: "True", data: DNS }));
    await api.statuses.reportStatus(reportRequest({ resourceId: cluster.id, adapter: "validation", generation: 2, at: at("42:02"), applied: "True", available: "False" }));
    const stored = await rows();
    expect(stored.dns.observedGeneration).toBe(2n);
    expect(timestampDate(stored.dns.createdTime!)).toEqual(at("00:02"));
    expect(timestampDate(stored.dns.lastReportTime!)).toEqual(at("42:02"));
    expect(stored.validation.observedGeneration).toBe(2n);
    expect(stored.placement.observedGeneration).toBe(1n);
    const c = await get();
    expect(c.status!.phase).toBe(Phase.NOT_READY);
    expect(c.status!.observedGeneration).toBe(1n);
    expect(cond(c, "LastKnownReconciled").status).toBe(ConditionStatus.TRUE);
    expect(cond(c, "LastKnownReconciled").observedGeneration).toBe(1n);
  });

  test("then placement and validation finish generation 2 → Ready at 2", async () => {
    await api.statuses.reportStatus(reportRequest({ resourceId: cluster.id, adapter: "placement", generation: 2, at: at("42:03"), applied: "True", available: "True" }));
    await api.statuses.reportStatus(reportRequest({ resourceId: cluster.id, adapter: "validation", generation: 2, at: at("42:30"), applied: "True", available: "True" }));
    const c = await get();
    expect(c.status!.phase).toBe(Phase.READY);
    expect(c.status!.observedGeneration).toBe(2n);
    expect(timestampDate(c.status!.lastTransitionTime!)).toEqual(at("42:30"));
    expect(cond(c, "LastKnownReconciled").observedGeneration).toBe(2n);
  });
});
