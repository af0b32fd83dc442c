import { silentLogger } from "../../services/shared/log.js";
import { createObjectStore, type ObjectStore } from "../../services/kube-standin/object-store.js";
import { createServer } from "../../services/kube-standin/server.js";
import { createStageRunner } from "../../services/kube-standin/stage-runner.js";
import { BUILTIN_TYPES } from "../../services/kube-standin/resource-types.js";

/** A Kubernetes stand-in on a real port with a hand-driven clock: `advance` moves time and applies stages. */
export interface TestStandin {
  url: string;
  port: number;
  store: ObjectStore;
  advance(ms: number): void;
  close(): Promise<void>;
}

export async function startStandin(stages = { jobDurationMs: 20_000, dnsDelayMs: 10_000, speed: 1 }): Promise<TestStandin> {
  let clock = Date.parse("2026-01-01T00:00:00Z");
  const now = () => new Date(clock);
  const store = createObjectStore(now);
  store.create(BUILTIN_TYPES[0], undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } });
  const runner = createStageRunner(store, stages, silentLogger(), now);
  const server = createServer({ store, log: silentLogger(), now });
  const port = await server.listen(0, "127.0.0.1");
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    store,
    advance(ms) {
      clock += ms;
      runner.tick();
    },
    close: () => server.close(),
  };
}
