import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { SentinelService } from "../../gen/hyperfleet/v1/sentinel_pb.js";
import type { Poller } from "./poll-loop.js";
import type { ResourceLister } from "./resource-lister.js";
import type { WatchLoop } from "./watch-loop.js";

export interface SentinelServiceDeps {
  poller: Poller;
  watcher?: WatchLoop;
  lister: ResourceLister;
  kind: string;
  labelSelector: string;
  topic: string;
}

/** SentinelService: the poller's statistics, and a manual "reconcile this resource now". */
export function createSentinelService(deps: SentinelServiceDeps) {
  return {
    getStatus() {
      const s = deps.poller.stats();
      return {
        resourceKind: deps.kind,
        labelSelector: deps.labelSelector,
        topic: deps.topic,
        lastSuccessfulPollTime: s.lastSuccessfulPoll && timestampFromDate(s.lastSuccessfulPoll),
        lastPollResourcesSeen: BigInt(s.last?.seen ?? 0),
        lastPollDue: BigInt(s.last?.due ?? 0),
        lastPollDurationMs: BigInt(s.last?.durationMs ?? 0),
        pollsTotal: BigInt(s.polls),
        eventsPublishedTotal: BigInt(s.published),
        errorsTotal: BigInt(s.errors),
        lastError: s.lastError?.message ?? "",
        lastErrorTime: s.lastError && timestampFromDate(s.lastError.time),
        lastPollSkipped: BigInt(s.last?.skipped ?? 0),
        skippedTotal: BigInt(s.skipped),
        lastPollAwaitingAdapters: BigInt(s.last?.awaiting ?? 0),
        answerTimeMs: BigInt(Math.round(s.answerMs ?? 0)),
        flowWindow: BigInt(Math.floor(s.window)),
        lastPollHeld: BigInt(s.last?.held ?? 0),
        watchLive: deps.watcher?.stats().live ?? false,
        watchEventsPublishedTotal: BigInt(s.watchPublished),
        watchReconnectsTotal: BigInt(deps.watcher?.stats().reconnects ?? 0),
      };
    },

    async reconcile(req) {
      if (req.resourceId === "") throw new ConnectError("resource_id: is required", Code.InvalidArgument);
      const resource = await deps.lister.get(req.resourceId);
      const eventId = await deps.poller.publishNow(resource.ref);
      if (eventId === undefined) throw new ConnectError("the broker did not accept the event; retry later", Code.Unavailable);
      return { eventId, generation: BigInt(resource.generation) };
    },
  } satisfies ServiceImpl<typeof SentinelService>;
}
