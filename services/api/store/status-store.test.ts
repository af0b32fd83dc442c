/**
 * The optimistic report path losing its race, made deterministic: another report lands between its
 * read and its write, so its write must apply to nothing and the report be redone under the lock.
 */
import { createClusterStore } from "./cluster-store.js";
import type { Knex } from "./db.js";
import { createStatusStore, type Report } from "./status-store.js";
import { migratedDatabase } from "../../../test/support/store-db.js";

const required = { clusters: ["validation", "dns"], nodepools: ["nodepool"] };
let db: Knex;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await migratedDatabase());
});
afterAll(() => drop());

const report = (resourceId: string, adapter: string, second: number): Report => ({
  resourceId,
  adapter,
  observedGeneration: 1,
  observedTime: new Date(Date.UTC(2026, 0, 1, 0, 0, second)),
  conditions: [
    { type: "Applied", status: "True", reason: "Applied", message: "" },
    { type: "Available", status: "True", reason: "Done", message: "" },
    { type: "Health", status: "True", reason: "Healthy", message: "" },
  ],
  data: undefined,
});

test("a report whose resource changed after its read is redone under the lock: both reports count, the resource is Ready", async () => {
  const clusters = createClusterStore(db, required);
  const c = await clusters.create({ id: crypto.randomUUID(), name: "race-1", labels: {}, spec: {}, actor: "test" }, new Date(Date.UTC(2026, 0, 1)));
  let interleaved = 0;
  const statuses = createStatusStore(db, required, {
    afterSnapshot: async (id) => {
      if (interleaved++ > 0) return; // only the first report is interrupted, by the second
      const other = await statuses.report(report(id, "dns", 5));
      expect(other.outcome).toBe("Created");
    },
  });
  const first = await statuses.report(report(c.id, "validation", 4));
  expect(first.outcome).toBe("Created");
  expect(interleaved).toBe(2); // the interrupted read, then the inner report's own
  const rows = await statuses.list(c.id);
  expect(rows.map((r) => r.adapter)).toEqual(["dns", "validation"]);
  // Without the redo, the status would have been computed from a read that had no dns row.
  expect(first.resourceStatus.phase).toBe(2); // PHASE_READY
  expect((await clusters.get(c.id)).status?.phase).toBe(2);
});
