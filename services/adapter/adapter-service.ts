import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AdapterService } from "../../gen/hyperfleet/v1/adapter_pb.js";
import { decodeReconcileEvent } from "../shared/events/index.js";
import type { ConsumerState } from "../shared/broker/index.js";
import type { ConsumerStats } from "./consumer.js";
import { adapterHealth } from "./core/health.js";
import type { ReconcileResult } from "./reconcile.js";

export interface AdapterServiceDeps {
  adapter: string;
  subscription: string;
  stats: () => ConsumerStats;
  /** The broker consumer's state; undefined before the first subscribe. */
  consumer: () => ConsumerState | undefined;
  dryRun: (resourceId: string) => Promise<ReconcileResult>;
}

/** AdapterService: counters, and the decision trace for a resource without side effects. */
export function createAdapterService(deps: AdapterServiceDeps) {
  return {
    getStatus() {
      const s = deps.stats();
      const c = deps.consumer();
      const health = adapterHealth(c);
      return {
        adapter: deps.adapter,
        subscription: deps.subscription,
        eventsByOutcome: Object.fromEntries(Object.entries(s.byOutcome).map(([k, v]) => [k, BigInt(v ?? 0)])),
        inFlight: BigInt(s.inFlight),
        lastError: s.lastError?.message ?? "",
        lastErrorTime: s.lastError && timestampFromDate(s.lastError.time),
        consuming: health.serving,
        notConsumingReason: health.message,
        consumingChangedTime: c && timestampFromDate(c.since),
        resubscribes: BigInt(c?.resubscribes ?? 0),
      };
    },

    async dryRun(req) {
      let id = req.resourceId;
      if (req.eventJson !== "") {
        const d = decodeReconcileEvent(req.eventJson);
        if (!d.ok) return { outcome: "Malformed", trace: [`the event would be nacked: ${d.detail}`], objects: [] };
        id = d.event.data.id;
      }
      if (id === "") throw new ConnectError("resource_id or event_json: one is required", Code.InvalidArgument);
      const r = await deps.dryRun(id);
      return {
        outcome: r.outcome,
        trace: r.trace,
        objects: r.objects.map((o) => ({ id: o.id, apiVersion: o.apiVersion, kind: o.kind, namespace: o.namespace ?? "", name: o.name, action: o.action, reason: o.reason, manifest: o.manifest })),
        report: r.report,
      };
    },
  } satisfies ServiceImpl<typeof AdapterService>;
}
