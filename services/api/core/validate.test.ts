import { create, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import { ListClustersResponseSchema } from "../../../gen/hyperfleet/v1/cluster_pb.js";
import { ReportStatusResponseSchema } from "../../../gen/hyperfleet/v1/status_pb.js";
import {
  MAX_CONDITION_MESSAGE_LENGTH,
  MAX_CONDITION_REASON_LENGTH,
  MAX_CONDITION_TYPE_LENGTH,
  MAX_CONDITIONS,
  MAX_JSON_BYTES,
  MAX_JSON_DEPTH,
  MAX_LABELS,
} from "../limits.js";
import { validateJson, validateLabels, validateName, validateReport, type ReportInput } from "./validate.js";

describe("validateName (spec §2)", () => {
  test.each([
    ["a DNS label of 3-53 → ok", "cls-123", "Cluster", []],
    ["exactly 3 → ok", "abc", "Cluster", []],
    ["exactly 53 → ok", "a".repeat(53), "Cluster", []],
    ["54 → LENGTH", "a".repeat(54), "Cluster", ["LENGTH"]],
    ["2 → LENGTH", "ab", "Cluster", ["LENGTH"]],
    ["uppercase → PATTERN", "Cls-123", "Cluster", ["PATTERN"]],
    ["leading dash → PATTERN", "-cls", "Cluster", ["PATTERN"]],
    ["trailing dash → PATTERN", "cls-", "Cluster", ["PATTERN"]],
    ["empty → REQUIRED", "", "Cluster", ["REQUIRED"]],
    ["nodepool of 15 → ok", "a".repeat(15), "NodePool", []],
    ["nodepool of 16 → LENGTH", "a".repeat(16), "NodePool", ["LENGTH"]],
  ] as const)("%s", (_name, name, kind, reasons) => {
    const v = validateName(name, kind);
    expect(v.map((x) => x.reason)).toEqual(reasons);
    v.forEach((x) => expect(x.field).toBe("name"));
  });
});

describe("validateLabels (Kubernetes label rules)", () => {
  test.each([
    ["simple key and value → ok", { env: "prod" }, []],
    ["prefixed key → ok", { "app.kubernetes.io/name": "hf" }, []],
    ["empty value → ok", { env: "" }, []],
    ["value of 63 → ok", { env: "a".repeat(63) }, []],
    ["value of 64 → VALUE", { env: "a".repeat(64) }, ['labels["env"]']],
    ["key name of 64 → KEY", { ["k".repeat(64)]: "v" }, [`labels["${"k".repeat(64)}"]`]],
    ["bad prefix → KEY_PREFIX", { "Bad_Prefix/x": "v" }, ['labels["Bad_Prefix/x"]']],
    ["value with a space → VALUE", { env: "pro d" }, ['labels["env"]']],
    ["prefix of 253 → ok", { [`${"p".repeat(253)}/x`]: "v" }, []],
    ["prefix of 254 → KEY_PREFIX", { [`${"p".repeat(254)}/x`]: "v" }, [`labels["${"p".repeat(254)}/x"]`]],
    ["key name of 63 → ok", { ["k".repeat(63)]: "v" }, []],
    [`${MAX_LABELS} labels → ok`, labelsOf(MAX_LABELS, "k"), []],
    [`${MAX_LABELS + 1} labels → labels, once`, labelsOf(MAX_LABELS + 1, "k"), ["labels"]],
    [`${MAX_LABELS + 1} invalid labels → labels, once (no key looked at)`, labelsOf(MAX_LABELS + 1, "-bad"), ["labels"]],
  ] as [string, Record<string, string>, string[]][])("%s", (_name, labels, fields) => {
    expect(validateLabels(labels).map((v) => v.field)).toEqual(fields);
  });

  test("Regression guard: 40,000 invalid label keys were 40,000 violations (the API ran out of heap); now one", () => {
    const v = validateLabels(labelsOf(40_000, "-bad-"));
    expect(v).toEqual([{ field: "labels", description: "must have at most 64 entries (got 40000)", reason: "TOO_MANY" }]);
  });

  test("an overlong key is quoted in the field name only as far as a valid key could go", () => {
    const [v] = validateLabels({ ["k".repeat(100_000)]: "v" });
    expect(v.reason).toBe("KEY");
    expect(v.field.length).toBeLessThan(330);
  });
});

function labelsOf(n: number, prefix: string): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, "v"]));
}

/** An object nested `depth` levels deep (the top level is 1) through objects and arrays in turn, built without recursion. */
function nested(depth: number, leaf: unknown = 1): Record<string, unknown> {
  let v: unknown = { x: leaf };
  for (let i = 1; i < depth; i++) v = (depth - 1 - i) % 2 === 0 ? { a: v } : [v];
  return v as Record<string, unknown>;
}
/** Depth of a value as validateJson counts it (arrays are levels too). */
function depthOf(v: unknown): number {
  return v !== null && typeof v === "object" ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0;
}
/** UTF-8 bytes of compact JSON: what MAX_JSON_BYTES measures. */
const jsonBytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

describe("validateJson (spec, data): size, depth, NUL, finite numbers", () => {
  test("the nesting helper builds what it says", () => {
    expect(depthOf(nested(MAX_JSON_DEPTH))).toBe(MAX_JSON_DEPTH);
  });

  test.each([
    ["absent → ok", undefined, []],
    ["empty object → ok", {}, []],
    [`${MAX_JSON_DEPTH} levels → ok`, nested(MAX_JSON_DEPTH), []],
    [`${MAX_JSON_DEPTH + 1} levels → TOO_DEEP`, nested(MAX_JSON_DEPTH + 1), ["TOO_DEEP"]],
    ["Regression guard: a spec 60 levels deep broke the Sentinel's polls → TOO_DEEP", nested(60), ["TOO_DEEP"]],
    ["100,000 levels: no stack overflow → TOO_DEEP", nested(100_000), ["TOO_DEEP"]],
    ["an array of 1,000,000 numbers → TOO_LARGE (stops early)", { a: new Array(1_000_000).fill(0) }, ["TOO_LARGE"]],
    ["an object of 100,000 keys → TOO_LARGE", Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, null])), ["TOO_LARGE"]],
    ["a 10 MB string → TOO_LARGE", { a: "x".repeat(10_000_000) }, ["TOO_LARGE"]],
    ["NUL in a nested string → NUL", { a: [{ b: "x\u0000" }] }, ["NUL"]],
    ["NUL in a key → NUL", { "a\u0000": 1 }, ["NUL"]],
    ["NaN (binary protobuf can carry it) → NOT_FINITE", { a: NaN }, ["NOT_FINITE"]],
    ["Infinity → NOT_FINITE", { a: [-Infinity] }, ["NOT_FINITE"]],
  ] as [string, unknown, string[]][])("%s", (_name, value, reasons) => {
    const v = validateJson(value, "spec");
    expect(v.map((x) => x.reason)).toEqual(reasons);
    v.forEach((x) => expect(x.field).toBe("spec"));
  });

  // Each shape padded to exactly MAX_JSON_BYTES and one byte more, measured by JSON.stringify:
  // validateJson's own count (escapes, multi-byte characters, separators) must agree with it.
  test.each([
    ["an ASCII string", (pad: number) => ({ s: "a".repeat(pad) })],
    ["3-byte characters and escapes", (pad: number) => ({ q: '"\\\n\u0001', e: "€€", l: [], o: {}, s: "a".repeat(pad) })],
    ["numbers, booleans, null in arrays", (pad: number) => ({ n: [1.5, -2e-7, 1e21, 0, true, false, null], s: ["é".repeat(1), "a".repeat(pad)] })],
    ["nested objects and emoji", (pad: number) => ({ a: { b: { c: [{ "😀": "😀" }, [[]]] } }, "k\"ey": "a".repeat(pad) })],
  ])("size is counted as compact JSON's UTF-8 bytes: %s", (_name, shape) => {
    const pad = MAX_JSON_BYTES - jsonBytes(shape(0));
    expect(jsonBytes(shape(pad))).toBe(MAX_JSON_BYTES);
    expect(validateJson(shape(pad), "data")).toEqual([]);
    expect(validateJson(shape(pad + 1), "data").map((x) => x.reason)).toEqual(["TOO_LARGE"]);
  });

  test("whatever validateJson accepts, our own clients decode with protobuf-es defaults (binary and JSON)", () => {
    // The deepest accepted value, nested through objects and arrays, in the deepest responses that carry it.
    const deep = nested(MAX_JSON_DEPTH) as never;
    expect(validateJson(deep, "spec")).toEqual([]);
    const list = create(ListClustersResponseSchema, { clusters: [{ spec: deep, adapterStatuses: [{ data: deep }] }] });
    expect(fromBinary(ListClustersResponseSchema, toBinary(ListClustersResponseSchema, list))).toEqual(list);
    expect(fromJsonString(ListClustersResponseSchema, toJsonString(ListClustersResponseSchema, list))).toEqual(list);
    const report = create(ReportStatusResponseSchema, { status: { data: deep } });
    expect(fromBinary(ReportStatusResponseSchema, toBinary(ReportStatusResponseSchema, report))).toEqual(report);
  });
});

describe("validateReport (spec §3 rule 1)", () => {
  const now = new Date("2026-01-01T00:10:00Z");
  const ok: ReportInput = {
    resourceId: "r",
    adapter: "dns",
    observedGeneration: 1,
    observedTime: now,
    conditions: [
      { type: "Applied", status: "True" },
      { type: "Available", status: "False" },
      { type: "Health", status: "True" },
    ],
  };
  test.each([
    ["a complete report → ok", {}, []],
    ["missing Health → conditions", { conditions: ok.conditions.slice(0, 2) }, ["conditions"]],
    ["duplicate type → conditions[3].type", { conditions: [...ok.conditions, { type: "Applied", status: "True" }] }, ["conditions[3].type"]],
    ["unspecified status → conditions[1].status", { conditions: [ok.conditions[0], { type: "Available", status: undefined }, ok.conditions[2]] }, ["conditions[1].status"]],
    ["generation 0 → observed_generation", { observedGeneration: 0 }, ["observed_generation"]],
    ["exactly 5 min ahead → ok", { observedTime: new Date(now.getTime() + 300_000) }, []],
    ["5 min + 1 ms ahead → observed_time", { observedTime: new Date(now.getTime() + 300_001) }, ["observed_time"]],
    ["no adapter → adapter", { adapter: "" }, ["adapter"]],
    ["no resource id → resource_id", { resourceId: "" }, ["resource_id"]],
    ["Regression guard: a time beyond the Date range passed the future check", { observedTime: new Date(NaN) }, ["observed_time"]],
    ["a time before 1970 → observed_time", { observedTime: new Date(-1) }, ["observed_time"]],
    ["the Unix epoch → ok", { observedTime: new Date(0) }, []],
    ["a generation beyond 2^53-1 → observed_generation", { observedGeneration: 2 ** 53 }, ["observed_generation"]],
    ["Regression guard: NUL in a condition message became a Postgres 22P05 (500)", { conditions: [...ok.conditions.slice(0, 2), { type: "Health", status: "True", message: "a\u0000b" }] }, ["conditions[2].message"]],
    ["NUL in a condition reason", { conditions: [...ok.conditions.slice(0, 2), { type: "Health", status: "True", reason: "\u0000" }] }, ["conditions[2].reason"]],
    ["NUL in data", { data: { dns: "x\u0000" } }, ["data"]],
    [`data ${MAX_JSON_DEPTH + 1} levels deep → data`, { data: nested(MAX_JSON_DEPTH + 1) }, ["data"]],
    ["data over 64 KiB → data", { data: { a: "x".repeat(MAX_JSON_BYTES) } }, ["data"]],
    [`${MAX_CONDITIONS} conditions → ok`, { conditions: withExtra(MAX_CONDITIONS - 3) }, []],
    [`${MAX_CONDITIONS + 1} conditions → conditions, once`, { conditions: withExtra(MAX_CONDITIONS - 2) }, ["conditions"]],
    ["10,000 bad conditions → conditions, once (none looked at)", { conditions: Array.from({ length: 10_000 }, () => ({ type: "", status: undefined })) }, ["conditions"]],
    [`type of ${MAX_CONDITION_TYPE_LENGTH} → ok`, { conditions: [...ok.conditions, { type: "T".repeat(MAX_CONDITION_TYPE_LENGTH), status: "True" }] }, []],
    [`type of ${MAX_CONDITION_TYPE_LENGTH + 1} → conditions[3].type`, { conditions: [...ok.conditions, { type: "T".repeat(MAX_CONDITION_TYPE_LENGTH + 1), status: "True" }] }, ["conditions[3].type"]],
    [`reason of ${MAX_CONDITION_REASON_LENGTH} → ok`, { conditions: [...ok.conditions, { type: "X", status: "True", reason: "r".repeat(MAX_CONDITION_REASON_LENGTH) }] }, []],
    [`reason of ${MAX_CONDITION_REASON_LENGTH + 1} → conditions[3].reason`, { conditions: [...ok.conditions, { type: "X", status: "True", reason: "r".repeat(MAX_CONDITION_REASON_LENGTH + 1) }] }, ["conditions[3].reason"]],
    [`message of ${MAX_CONDITION_MESSAGE_LENGTH} → ok`, { conditions: [...ok.conditions, { type: "X", status: "True", message: "m".repeat(MAX_CONDITION_MESSAGE_LENGTH) }] }, []],
    [`message of ${MAX_CONDITION_MESSAGE_LENGTH + 1} → conditions[3].message`, { conditions: [...ok.conditions, { type: "X", status: "True", message: "m".repeat(MAX_CONDITION_MESSAGE_LENGTH + 1) }] }, ["conditions[3].message"]],
  ] as [string, Partial<ReportInput>, string[]][])("%s", (_name, over, fields) => {
    expect(validateReport({ ...ok, ...over }, now).map((v) => v.field)).toEqual(fields);
  });

  /** The mandatory three plus `n` extra conditions. */
  function withExtra(n: number): ReportInput["conditions"] {
    return [...ok.conditions, ...Array.from({ length: n }, (_, i) => ({ type: `Extra${i}`, status: "True" as const }))];
  }
});
