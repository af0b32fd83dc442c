/**
 * Every bound the API puts on its input, in one place: the checks import these, docs/api.md
 * ("Limits") tabulates them, and the hostile-input tests refer to them. A request beyond any of them
 * is InvalidArgument naming the field, found before any database access; each check looks at a count
 * or a length before it looks at the items, so a hostile request costs no more than a good one.
 * String lengths are JavaScript string lengths (UTF-16 code units), so a character beyond U+FFFF counts 2.
 */

/** Resource names: lowercase DNS labels of these lengths (spec §2). */
export const NAME_LIMITS = { Cluster: { min: 3, max: 53 }, NodePool: { min: 3, max: 15 } } as const;

/** Labels per resource. Checked before any key, so 40,000 bad keys are one violation, not 40,000. */
export const MAX_LABELS = 64;
/** Kubernetes label rules: key = optional DNS-subdomain prefix (≤ 253) "/" name (≤ 63); value ≤ 63. */
export const MAX_LABEL_KEY_PREFIX_LENGTH = 253;
export const MAX_LABEL_NAME_LENGTH = 63;
export const MAX_LABEL_VALUE_LENGTH = 63;

/**
 * `spec` (clusters, nodepools) and a report's `data`: compact JSON of at most this many UTF-8 bytes.
 * Binary protobuf can be up to 5.5× larger (an array of numbers: 2 JSON bytes, 11 binary bytes each),
 * which MAX_REQUEST_BYTES allows for.
 */
export const MAX_JSON_BYTES = 64 * 1024;
/**
 * ...and at most this many levels of objects/arrays (the top-level object is level 1). protobuf-es
 * decodes at most 100 nested messages, and in binary each JSON level is two (Value + Struct/ListValue):
 * a ListClustersResponse holding a 32-level spec is 2 + 1 + 2×32 = 67 deep, leaving room for wrappers.
 */
export const MAX_JSON_DEPTH = 32;

/** Conditions per report (the three mandatory ones, Finalized and a dozen more). */
export const MAX_CONDITIONS = 16;
/** Condition type: an identifier like Available or dns.example.com/Resolved. */
export const MAX_CONDITION_TYPE_LENGTH = 63;
export const MAX_CONDITION_REASON_LENGTH = 256;
export const MAX_CONDITION_MESSAGE_LENGTH = 4096;
/** A report's adapter name: a lowercase DNS label. */
export const MAX_ADAPTER_NAME_LENGTH = 63;
/** observed_time more than this far ahead of the server's clock is rejected; less is clamped to it. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** observed_time before the Unix epoch is rejected (Postgres and JavaScript disagree on far-past dates). */
export const MIN_OBSERVED_TIME_MS = 0;

/** ForceDelete reason: logged, so bounded like a log line. */
export const MAX_FORCE_DELETE_REASON_LENGTH = 1024;

/** List filters: characters, nesting of parentheses and `not`s, and terms (each comparison and each `in` value). */
export const MAX_FILTER_LENGTH = 4096;
export const MAX_FILTER_DEPTH = 32;
export const MAX_FILTER_TERMS = 100;
/** page_token: the tokens this API issues are 48 characters. */
export const MAX_PAGE_TOKEN_LENGTH = 256;
/** A watch's resume token: a Postgres snapshot (its in-progress transaction ids grow with the connections), encoded. */
export const MAX_RESUME_TOKEN_LENGTH = 4096;
export const DEFAULT_PAGE_SIZE = 100;
/** page_size above this is served as this. */
export const MAX_PAGE_SIZE = 1000;
/** update_mask paths (only `labels` and `spec` exist). */
export const MAX_UPDATE_MASK_PATHS = 8;

/**
 * What one InvalidArgument lists: at most this many violations, then "and N more". gRPC sends the
 * message (percent-encoded, up to 3× its size) and the BadRequest detail (base64) in trailers, which
 * clients refuse beyond 64 KB (the peer then sees "stream reset"); these caps keep both under ~24 KB.
 */
export const MAX_VIOLATIONS = 20;
/** Listed violations stop earlier once their fields and descriptions reach this many UTF-8 bytes. */
export const MAX_VIOLATIONS_BYTES = 4096;
/** A violation's field and description are clipped to these lengths (a field can quote a label key). */
export const MAX_VIOLATION_FIELD_LENGTH = 400;
export const MAX_VIOLATION_DESCRIPTION_LENGTH = 512;

/**
 * The largest request message each method needs (wire bytes, binary or JSON), for the server's
 * per-method read limit; every request the checks accept fits (limits.test.ts builds the worst cases).
 * - Create/Update: spec 64 KiB JSON → ≤ 352 KiB binary, or ≤ 128 KiB JSON with \u escapes; + 64 labels ≈ 25 KiB.
 * - ReportStatus: data as above + 16 conditions × 4,415 characters (≤ 212 KiB binary, ≤ 424 KiB JSON-escaped).
 * - Everything else: a filter of 4,096 characters (≤ 24 KiB JSON-escaped), an id, a token, a reason.
 */
export const MAX_REQUEST_BYTES = {
  write: 512 * 1024,
  report: 1024 * 1024,
  read: 64 * 1024,
} as const;

/** The method → MAX_REQUEST_BYTES class, by full method name (service/Method). */
export const REQUEST_BYTES_BY_METHOD: Readonly<Record<string, number>> = {
  "hyperfleet.v1.ClusterService/CreateCluster": MAX_REQUEST_BYTES.write,
  "hyperfleet.v1.ClusterService/UpdateCluster": MAX_REQUEST_BYTES.write,
  "hyperfleet.v1.NodePoolService/CreateNodePool": MAX_REQUEST_BYTES.write,
  "hyperfleet.v1.NodePoolService/UpdateNodePool": MAX_REQUEST_BYTES.write,
  "hyperfleet.v1.StatusService/ReportStatus": MAX_REQUEST_BYTES.report,
};

/** The read limit for a method: its class, or `read` for every other method. */
export function maxRequestBytes(method: string): number {
  return Object.hasOwn(REQUEST_BYTES_BY_METHOD, method) ? REQUEST_BYTES_BY_METHOD[method] : MAX_REQUEST_BYTES.read;
}
