import { parseDuration } from "../shared/config.js";
import type { Logger } from "../shared/log.js";
import { isSettled, nextStage, type StageConfig } from "./core/stages.js";
import type { KubeObject, ObjectStore } from "./object-store.js";
import type { ResourceType } from "./resource-types.js";

/**
 * Applies KWOK-style stages every `tickMs`: writes each due status through the status subresource.
 * Only objects still in flight are looked at (a scan of the whole store every tick was most of the
 * stand-in's CPU with a few thousand settled objects); every write re-files its object.
 */
export function createStageRunner(store: ObjectStore, cfg: StageConfig, log: Logger, now: () => Date = () => new Date(), tickMs = 100) {
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Map<string, [ResourceType, KubeObject]>();
  const keyOf = (o: KubeObject) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  const file = (t: ResourceType, o: KubeObject, deleted = false) => {
    if (deleted || isSettled(o)) inFlight.delete(keyOf(o));
    else inFlight.set(keyOf(o), [t, o]);
  };
  let detach: (() => void) | undefined;
  const attach = () => {
    if (detach) return;
    inFlight.clear();
    for (const [t, o] of store.entries()) file(t, o);
    detach = store.onWrite((t, o, type) => file(t, o, type === "DELETED"));
  };
  attach();

  const tick = () => {
    const at = now();
    for (const [t, o] of [...inFlight.values()]) {
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
    /** How many objects the runner is watching for a stage (for tests). */
    inFlight: () => inFlight.size,
    start() {
      attach();
      timer ??= setInterval(tick, tickMs);
    },
    /** Stops the ticks and stops following the store (start() picks it up again from its contents). */
    stop() {
      clearInterval(timer);
      timer = undefined;
      detach?.();
      detach = undefined;
    },
  };
}
