import { parseDuration } from "../shared/config.js";
import type { Logger } from "../shared/log.js";
import { nextStage, type StageConfig } from "./core/stages.js";
import type { ObjectStore } from "./object-store.js";

/** Applies KWOK-style stages every `tickMs`: writes each due status through the status subresource. */
export function createStageRunner(store: ObjectStore, cfg: StageConfig, log: Logger, now: () => Date = () => new Date(), tickMs = 100) {
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const at = now();
    for (const [t, o] of [...store.entries()]) {
      const next = nextStage(o, at, cfg, parseDuration);
      if (!next) continue;
      try {
        store.update(t, o.metadata.namespace, o.metadata.name, { ...o, status: { ...(o.status ?? {}), ...next.status } }, t.statusSubresource ? "status" : undefined);
        log.info({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name, stage: next.stage, clusterId: o.metadata.labels?.["hyperfleet.io/cluster-id"] }, "stage");
      } catch (err) {
        log.warn({ err: String(err), name: o.metadata.name }, "stage update failed");
      }
    }
  };
  return {
    tick,
    start() {
      timer ??= setInterval(tick, tickMs);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
