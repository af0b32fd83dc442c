/** Benchmark 3: one Sentinel poll over fleets of increasing size, with 1% due and with none due. */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { SentinelService } from "../gen/hyperfleet/v1/sentinel_pb.js";
import { freePort, migratedBenchDatabase, seedClusters, sleep, startService, table } from "./support.js";

export async function benchSentinel(opts: { sizes: number[]; emulatorHost: string }): Promise<Record<string, number>[]> {
  const rows: Record<string, number | string>[] = [];
  const out: Record<string, number>[] = [];
  const db = await migratedBenchDatabase("sentinel");
  const apiPort = await freePort();
  const api = await startService("services/api/main.ts", { DATABASE_URL: db.url, API_PORT: String(apiPort), API_METRICS_PORT: String(await freePort()) }, apiPort);
  for (const size of opts.sizes) {
    for (const duePct of [1, 0]) {
      await db.pool.query("truncate adapter_statuses, nodepools, clusters cascade");
      await seedClusters(db.pool, size, Math.floor((size * duePct) / 100));
      const port = await freePort();
      const sentinel = await startService(
        "services/sentinel/main.ts",
        {
          API_URL: api.url,
          SENTINEL_PORT: String(port),
          SENTINEL_METRICS_PORT: String(await freePort()),
          PUBSUB_EMULATOR_HOST: opts.emulatorHost,
          TOPIC_NAMESPACE: `bench${process.pid}`,
          ADAPTERS: "sink",
          POLL_INTERVAL: "2s",
          // Six of these are shorter than the poll interval, so even unanswered (no adapters here) every
          // poll publishes every due cluster again: the poll measured is the full one.
          MAX_AGE_NOT_READY: "300ms",
          MAX_AGE_READY: "30m",
        },
        port,
      );
      const client = createClient(SentinelService, createGrpcTransport({ baseUrl: sentinel.url }));
      let s = await client.getStatus({});
      for (let i = 0; i < 100 && s.pollsTotal < 3n; i++) {
        await sleep(200);
        s = await client.getStatus({});
      }
      const durations: number[] = [];
      for (let i = 0; i < 3; i++) {
        const before = s.pollsTotal;
        while ((s = await client.getStatus({})).pollsTotal === before) await sleep(100);
        durations.push(Number(s.lastPollDurationMs));
      }
      const published = Number(s.lastPollDue);
      rows.push({ clusters: size, "due %": duePct, "due found": published, "poll ms (median of 3)": durations.sort((a, b) => a - b)[1], "events/poll": published, errors: Number(s.errorsTotal), "sentinel peak RSS MB": sentinel.peakRssMb() });
      out.push({ clusters: size, duePct, pollMs: durations[1], events: published, rssMb: sentinel.peakRssMb() });
      await sentinel.stop();
    }
  }
  await api.stop();
  await db.drop();
  table("Sentinel: one poll (the API asks Postgres only for due clusters)", rows as Record<string, number>[]);
  console.log("targets at 100,000 clusters: ≤ 1 s with 1% due, ≤ 100 ms with none due; RSS ≤ 150 MB");
  return out;
}
