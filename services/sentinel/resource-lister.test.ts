import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ClusterSchema } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { Phase } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { pageOf, toDue } from "./resource-lister.js";

const ID = "0190aaaa-0000-7000-8000-000000000001";
const cluster = (over: { id?: string; generation?: bigint; seconds?: bigint } = {}) =>
  create(ClusterSchema, {
    id: over.id ?? ID,
    href: `/api/hyperfleet/v1/clusters/${over.id ?? ID}`,
    generation: over.generation ?? 2n,
    status: { phase: Phase.READY, observedGeneration: 1n, lastUpdatedTime: over.seconds === undefined ? timestampFromDate(new Date("2026-01-01T00:00:00Z")) : { seconds: over.seconds, nanos: 0 } },
  });

test("toDue reads what decide() needs", () => {
  expect(toDue(cluster())).toMatchObject({ generation: 2, observedGeneration: 1, phase: "Ready", lastUpdatedTime: new Date("2026-01-01T00:00:00Z"), ref: { id: ID, kind: "Cluster", generation: 2 } });
});

test.each([
  ["an id that is not a UUID (it would go into a filter)", cluster({ id: "x' or id != '" }), /not a UUID/],
  ["a generation beyond 2^53", cluster({ generation: 2n ** 60n }), /out of range/],
  ["a time JavaScript cannot hold", cluster({ seconds: 10n ** 15n }), /last_updated_time is out of range/],
])("a row decide() cannot reason about is refused, not silently never due: %s", (_rule, row, message) => {
  expect(() => toDue(row)).toThrow(message);
});

test("one unreadable row is set aside with its id; the rest of the page is read, and the page still says where it ends", () => {
  const other = "0190aaaa-0000-7000-8000-000000000003";
  const page = pageOf([cluster(), cluster({ id: "0190aaaa-0000-7000-8000-000000000002", generation: 2n ** 60n }), cluster({ id: other })], "next");
  expect(page.resources.map((r) => r.ref.id)).toEqual([ID, other]);
  expect(page.unreadable).toEqual([{ id: "0190aaaa-0000-7000-8000-000000000002", error: expect.stringMatching(/out of range/) }]);
  expect(page).toMatchObject({ lastId: other, nextPageToken: "next" });
});
