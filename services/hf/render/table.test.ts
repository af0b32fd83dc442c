import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ClusterSchema } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { ConditionStatus } from "../../../gen/hyperfleet/v1/condition_pb.js";
import { Phase } from "../../../gen/hyperfleet/v1/resource_status_pb.js";
import { AdapterStatusSchema } from "../../../gen/hyperfleet/v1/status_pb.js";
import { clusterTable, watchTable } from "./clusters.js";
import { age, renderTable } from "./table.js";

const now = new Date("2026-01-01T01:00:00Z");

test.each([
  ["seconds under two minutes", 119, "119s"],
  ["minutes under two hours", 3599, "59m"],
  ["hours", 7200, "2h"],
  ["days", 3 * 86400, "3d"],
])("age: %s", (_name, seconds, want) => expect(age(new Date(now.getTime() - seconds * 1000), now)).toBe(want));

test.each([
  ["columns align to the widest cell; right-aligned numbers", false, "NAME   GEN\nalpha    1\nb       12"],
  ["colour codes on a TTY do not disturb alignment", true, "NAME   GEN\n\x1b[32malpha\x1b[0m    1\nb       12"],
])("renderTable: %s", (_name, color, want) => {
  expect(renderTable([{ header: "NAME" }, { header: "GEN", align: "right" }], [[{ text: "alpha", tone: "good" }, "1"], ["b", "12"]], { color })).toBe(want);
});

const cluster = (name: string, generation: number, phase: Phase) =>
  create(ClusterSchema, {
    id: `id-${name}`,
    name,
    generation: BigInt(generation),
    labels: { env: "prod" },
    createdTime: timestampFromDate(new Date(now.getTime() - 90_000)),
    status: {
      phase,
      observedGeneration: 1n,
      conditions: ["Reconciled", "LastKnownReconciled", "ValidationSuccessful", "DnsSuccessful", "PlacementSuccessful"].map((type) => ({ type })),
    },
  });
const status = (adapter: string, gen: number, available: boolean) =>
  create(AdapterStatusSchema, { adapter, observedGeneration: BigInt(gen), conditions: [{ type: "Available", status: available ? ConditionStatus.TRUE : ConditionStatus.FALSE }] });

test("cluster list rows: id, name, generation, observed, phase, labels, age", () => {
  const t = clusterTable([cluster("c1", 2, Phase.NOT_READY)], now);
  expect(t.rows[0].map((c) => c.text)).toEqual(["id-c1", "c1", "2", "1", "NotReady", "env=prod", "90s"]);
});

test("watch: one column per adapter in required order, showing Available and observed generation", () => {
  const c = cluster("c1", 2, Phase.NOT_READY);
  const t = watchTable([c], new Map([[c.id, [status("placement", 1, true), status("dns", 2, true), status("validation", 2, false)]]]), now);
  expect(t.columns.map((x) => x.header)).toEqual(["NAME", "GEN", "PHASE", "VALIDATION", "DNS", "PLACEMENT", "AGE"]);
  expect(t.rows[0].map((x) => `${x.text}${x.tone ? `:${x.tone}` : ""}`)).toEqual(["c1", "2", "NotReady:pending", "✗2:bad", "✓2:good", "✓1:pending", "90s"]);
});
