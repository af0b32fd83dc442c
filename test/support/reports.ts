import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ConditionStatus } from "../../gen/hyperfleet/v1/condition_pb.js";
import { ReportStatusRequestSchema, type ReportStatusRequest } from "../../gen/hyperfleet/v1/status_pb.js";

type Word = "True" | "False" | "Unknown";
const WORDS: Record<Word, ConditionStatus> = { True: ConditionStatus.TRUE, False: ConditionStatus.FALSE, Unknown: ConditionStatus.UNKNOWN };

/** A report request with Applied/Available/Health given as words, the way the seed timeline writes them. */
export function reportRequest(opts: {
  resourceId: string;
  adapter: string;
  generation: number;
  at: Date;
  applied: Word;
  available: Word;
  health?: Word;
  extra?: Record<string, Word>;
  data?: JsonObject;
  reason?: string;
}): ReportStatusRequest {
  const conditions = Object.entries({ Applied: opts.applied, Available: opts.available, Health: opts.health ?? "True", ...opts.extra }).map(
    ([type, status]) => ({ type, status: WORDS[status as Word], reason: type === "Available" ? (opts.reason ?? "") : "", message: "" }),
  );
  return create(ReportStatusRequestSchema, {
    resourceId: opts.resourceId,
    adapter: opts.adapter,
    observedGeneration: BigInt(opts.generation),
    observedTime: timestampFromDate(opts.at),
    conditions,
    data: opts.data,
  });
}

/** The status word of one condition in a list of wire conditions. */
export function conditionWord(conditions: { type: string; status: ConditionStatus }[], type: string): Word | undefined {
  const c = conditions.find((x) => x.type === type);
  return c && (Object.keys(WORDS) as Word[]).find((w) => WORDS[w] === c.status);
}
