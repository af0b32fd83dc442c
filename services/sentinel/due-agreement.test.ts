/**
 * The due rule is written twice: once as the API filter the Sentinel lists with (dueFilter, run as
 * SQL by the API on Postgres) and once as decide(). This writes a table of rows straight into a real
 * API's database, lists them through the real API with the filter, and checks that the filter
 * returns exactly the rows decide() publishes (and the shard selector exactly the rows matches()
 * accepts). A row the filter wrongly drops would never get an event; one it wrongly returns costs a read.
 */
import { randomUUID } from "node:crypto";
import { createApiClient } from "../shared/api-client.js";
import { matches, parseLabelSelector } from "../shared/label-selector.js";
import { decide, type DecideConfig, type LastPublished, type ResourceSnapshot } from "./core/decide.js";
import { dueFilter, shardRequirements } from "./core/due-query.js";
import { createClusterLister, type ResourceLister } from "./resource-lister.js";
import { startApi, type TestApi } from "../../test/support/start-api.js";

const NOW = new Date("2026-01-01T10:41:11.000Z");
const CFG: DecideConfig = { maxAgeNotReadyMs: 10_000, maxAgeReadyMs: 1_800_000 };

interface Row extends ResourceSnapshot {
  name: string;
  labels: Record<string, string>;
}

const GENERATIONS: [string, number, number][] = [
  ["ahead", 2, 1],
  ["never-observed", 1, 0],
  ["equal", 3, 3],
  ["observed-ahead", 2, 3],
];
/** Ages around both thresholds (exactly the max age is not yet due: spec §5), and a clock-skewed future. */
const AGES: [string, number][] = [
  ["future", -5_000],
  ["fresh", 0],
  ["nr-1ms", CFG.maxAgeNotReadyMs - 1],
  ["nr-exact", CFG.maxAgeNotReadyMs],
  ["nr+1ms", CFG.maxAgeNotReadyMs + 1],
  ["r-1ms", CFG.maxAgeReadyMs - 1],
  ["r-exact", CFG.maxAgeReadyMs],
  ["r+1ms", CFG.maxAgeReadyMs + 1],
  ["ancient", 100 * CFG.maxAgeReadyMs],
];
const LABELS: Record<string, string>[] = [{}, { shard: "a" }, { shard: "b", env: "dev" }, { env: "prod" }, { shard: "a", env: "dev" }, { shard: "c" }];

const ROWS: Row[] = GENERATIONS.flatMap(([g, generation, observedGeneration]) =>
  (["Ready", "NotReady"] as const).flatMap((phase) =>
    AGES.map(([a, age], i): Row => ({
      name: `${g}-${phase.toLowerCase()}-${a}`,
      generation,
      observedGeneration,
      phase,
      lastUpdatedTime: new Date(NOW.getTime() - age),
      labels: LABELS[(i + generation + (phase === "Ready" ? 0 : 3)) % LABELS.length],
    })),
  ),
);

let api: TestApi;
let lister: ResourceLister;
const nameOf = new Map<string, string>();

beforeAll(async () => {
  api = await startApi();
  lister = createClusterLister(createApiClient(api.baseUrl));
  // Straight into the table: these status columns are what the API computes from reports, set by hand here.
  await api.db("clusters").insert(
    ROWS.map((r) => {
      const id = randomUUID();
      nameOf.set(id, r.name);
      return {
        id,
        name: r.name,
        labels: r.labels,
        spec: {},
        generation: r.generation,
        observed_generation: r.observedGeneration,
        phase: r.phase,
        last_transition_time: r.lastUpdatedTime,
        last_updated_time: r.lastUpdatedTime,
        created_time: NOW,
        updated_time: NOW,
        created_by: "test",
        updated_by: "test",
      };
    }),
  );
});
afterAll(() => api.close());

/** Every resource the API returns for `filter`, across pages, by row name. */
async function listed(filter: string): Promise<string[]> {
  const names: string[] = [];
  let token = "";
  do {
    const page = await lister.listPage(filter, token, 25);
    names.push(...page.resources.map((r) => nameOf.get(r.ref.id)!));
    token = page.nextPageToken;
  } while (token !== "");
  return names.sort();
}

test.each(["", "shard=a", "shard!=a", "env=dev,shard=a", "shard in (a,b)", "shard notin (a),env!=dev", "env in (prod,dev),shard notin (b)"])(
  "the API's due filter returns exactly the rows decide() publishes, shard %j",
  async (text) => {
    const parsed = parseLabelSelector(text);
    const shard = parsed.ok ? shardRequirements(parsed.requirements) : parsed;
    if (!shard.ok) throw new Error(shard.error);
    const want = ROWS.filter((r) => decide(r, NOW, CFG).publish && matches(shard.requirements, r.labels)).map((r) => r.name).sort();
    expect(want.length).toBeGreaterThan(0);
    expect(await listed(dueFilter(NOW, CFG, shard.requirements))).toEqual(want);
  },
);

test("what decide() publishes given the Sentinel's own last event is always among the rows the filter returns", async () => {
  const returned = new Set(await listed(dueFilter(NOW, CFG, [])));
  const lasts = (r: Row): LastPublished[] => [
    { generation: r.generation, at: new Date(NOW.getTime() - 1) },
    { generation: r.generation, at: new Date(NOW.getTime() - CFG.maxAgeNotReadyMs * 7) },
    { generation: r.generation - 1, at: new Date(NOW.getTime() - 1) },
  ];
  const publishedButNotReturned = ROWS.filter((r) => lasts(r).some((last) => decide(r, NOW, CFG, last).publish) && !returned.has(r.name)).map((r) => r.name);
  expect(publishedButNotReturned).toEqual([]);
});
