import type { ServiceImpl } from "@connectrpc/connect";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ReportOutcome, StatusService } from "../../gen/hyperfleet/v1/status_pb.js";
import { InvalidArgumentError } from "./core/domain-errors.js";
import { clampObservedTime, type ReportOutcome as Outcome } from "./core/report.js";
import { validateReport } from "./core/validate.js";
import type { StatusStore } from "./store/status-store.js";
import { conditionStatusFromPb } from "./store/rows.js";

export interface StatusServiceDeps {
  statuses: StatusStore;
  now: () => Date;
  /** Counts reports by outcome (metrics). */
  onReport?: (outcome: Outcome) => void;
}

const OUTCOME_TO_PB: Record<Outcome, ReportOutcome> = {
  Created: ReportOutcome.CREATED,
  Updated: ReportOutcome.UPDATED,
  DiscardedGenerationAhead: ReportOutcome.DISCARDED_GENERATION_AHEAD,
  DiscardedGenerationBehind: ReportOutcome.DISCARDED_GENERATION_BEHIND,
  DiscardedStale: ReportOutcome.DISCARDED_STALE,
  DiscardedAvailableUnknown: ReportOutcome.DISCARDED_AVAILABLE_UNKNOWN,
};

/** StatusService: validates a report (spec §3 rule 1), then the store applies rules 2-4. */
export function createStatusService(deps: StatusServiceDeps) {
  return {
    async reportStatus(req, ctx) {
      const now = deps.now();
      const observedTime = req.observedTime ? timestampDate(req.observedTime) : now;
      const conditions = req.conditions.map((c) => ({ type: c.type, status: conditionStatusFromPb(c.status), reason: c.reason, message: c.message }));
      const violations = validateReport(
        { resourceId: req.resourceId, adapter: req.adapter, observedGeneration: Number(req.observedGeneration), observedTime, conditions, data: req.data },
        now,
      );
      if (violations.length > 0) throw new InvalidArgumentError(violations);
      const result = await deps.statuses.report({
        resourceId: req.resourceId,
        adapter: req.adapter,
        observedGeneration: Number(req.observedGeneration),
        observedTime: clampObservedTime(observedTime, now),
        conditions: conditions.map((c) => ({ ...c, status: c.status! })),
        data: req.data,
      }, ctx.signal);
      deps.onReport?.(result.outcome);
      return {
        stored: result.outcome === "Created" || result.outcome === "Updated",
        outcome: OUTCOME_TO_PB[result.outcome],
        status: result.status,
        resourceStatus: result.resourceStatus,
        resourceDeletedTime: result.resourceDeletedTime && timestampFromDate(result.resourceDeletedTime),
      };
    },

    async listStatuses(req) {
      if (req.resourceId === "") throw new InvalidArgumentError([{ field: "resource_id", description: "is required", reason: "REQUIRED" }]);
      return { statuses: await deps.statuses.list(req.resourceId) };
    },
  } satisfies ServiceImpl<typeof StatusService>;
}
