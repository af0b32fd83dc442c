import { create, toBinary, toJsonString, type DescMessage, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CreateClusterRequestSchema, ForceDeleteClusterRequestSchema, ListClustersRequestSchema } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { ConditionStatus } from "../../gen/hyperfleet/v1/condition_pb.js";
import { ReportStatusRequestSchema } from "../../gen/hyperfleet/v1/status_pb.js";
import { compileFilter } from "./core/filter.js";
import { validateJson, validateLabels, validateName, validateReport } from "./core/validate.js";
import {
  MAX_ADAPTER_NAME_LENGTH,
  MAX_CONDITION_MESSAGE_LENGTH,
  MAX_CONDITION_REASON_LENGTH,
  MAX_CONDITION_TYPE_LENGTH,
  MAX_CONDITIONS,
  MAX_FILTER_LENGTH,
  MAX_FORCE_DELETE_REASON_LENGTH,
  MAX_JSON_BYTES,
  MAX_LABEL_NAME_LENGTH,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LABELS,
  MAX_PAGE_TOKEN_LENGTH,
  maxRequestBytes,
  NAME_LIMITS,
  REQUEST_BYTES_BY_METHOD,
} from "./limits.js";
import { API_SERVICES } from "./routes.js";

/**
 * The per-method request limits must admit every request the checks accept, in either encoding:
 * these build the largest accepted requests (binary: numbers in arrays, 11 bytes for each 2 JSON
 * bytes; JSON: every non-ASCII character written as a \u escape) and measure them.
 */

/** Binary and escaped-JSON sizes of a message. */
function sizes<D extends DescMessage>(schema: D, init: MessageInitShape<D>): { binary: number; json: number } {
  const msg = create(schema, init);
  const json = toJsonString(schema, msg).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return { binary: toBinary(schema, msg).length, json: json.length };
}

/** The largest JSON values validateJson accepts: numbers (largest in binary) and 3-byte characters (in escaped JSON). */
const numbersSpec = (): JsonObject => ({ a: new Array(Math.floor((MAX_JSON_BYTES - 7) / 2)).fill(0) });
const charsSpec = (): JsonObject => ({ a: "€".repeat(Math.floor((MAX_JSON_BYTES - 8) / 3)) });

/** MAX_LABELS labels with the longest valid keys and values. */
function longestLabels(): Record<string, string> {
  const prefix = `${"p".repeat(63)}.${"p".repeat(63)}.${"p".repeat(63)}.${"p".repeat(61)}`;
  return Object.fromEntries(
    Array.from({ length: MAX_LABELS }, (_, i) => [`${prefix}/${String(i).padStart(2, "0")}${"n".repeat(MAX_LABEL_NAME_LENGTH - 2)}`, "v".repeat(MAX_LABEL_VALUE_LENGTH)]),
  );
}

describe("MAX_REQUEST_BYTES admits the largest requests the checks accept", () => {
  test("the worst cases are accepted by the checks (else this test measures nothing)", () => {
    expect(validateJson(numbersSpec(), "spec")).toEqual([]);
    expect(validateJson(charsSpec(), "spec")).toEqual([]);
    expect(Buffer.byteLength(JSON.stringify(numbersSpec()))).toBeGreaterThan(MAX_JSON_BYTES - 3);
    expect(Buffer.byteLength(JSON.stringify(charsSpec()))).toBeGreaterThan(MAX_JSON_BYTES - 3);
    expect(validateLabels(longestLabels())).toEqual([]);
    expect(validateName("a".repeat(NAME_LIMITS.Cluster.max), "Cluster")).toEqual([]);
    expect(validateReport({ ...worstReport(numbersSpec()), observedTime: new Date(0), observedGeneration: 1, conditions: worstConditions().map((c) => ({ ...c, status: "True" })) }, new Date())).toEqual([]);
    expect(() => compileFilter(worstFilter(), { labelsColumn: "labels", fields: { name: { column: "name", type: "text" } } })).not.toThrow();
  });

  test.each([
    ["numbers", numbersSpec],
    ["3-byte characters", charsSpec],
  ])("CreateCluster/UpdateCluster, spec of %s", (_name, spec) => {
    const { binary, json } = sizes(CreateClusterRequestSchema, { name: "a".repeat(NAME_LIMITS.Cluster.max), labels: longestLabels(), spec: spec() });
    expect(binary).toBeLessThanOrEqual(maxRequestBytes("hyperfleet.v1.ClusterService/CreateCluster"));
    expect(json).toBeLessThanOrEqual(maxRequestBytes("hyperfleet.v1.ClusterService/CreateCluster"));
    expect(maxRequestBytes("hyperfleet.v1.NodePoolService/UpdateNodePool")).toBe(maxRequestBytes("hyperfleet.v1.ClusterService/CreateCluster"));
  });

  test.each([
    ["numbers", numbersSpec],
    ["3-byte characters", charsSpec],
  ])("ReportStatus, data of %s and the longest conditions", (_name, data) => {
    const r = worstReport(data());
    const { binary, json } = sizes(ReportStatusRequestSchema, { ...r, observedGeneration: 1n, observedTime: timestampFromDate(new Date()), conditions: worstConditions() });
    expect(binary).toBeLessThanOrEqual(maxRequestBytes("hyperfleet.v1.StatusService/ReportStatus"));
    expect(json).toBeLessThanOrEqual(maxRequestBytes("hyperfleet.v1.StatusService/ReportStatus"));
  });

  test("reads: the longest filter and page token; ForceDelete's longest reason", () => {
    const list = sizes(ListClustersRequestSchema, { filter: worstFilter(), pageToken: "A".repeat(MAX_PAGE_TOKEN_LENGTH), pageSize: 1000 });
    const force = sizes(ForceDeleteClusterRequestSchema, { id: "0190aaaa-0000-7000-8000-000000000000", reason: "€".repeat(MAX_FORCE_DELETE_REASON_LENGTH) });
    for (const s of [list, force]) {
      expect(s.binary).toBeLessThanOrEqual(maxRequestBytes("hyperfleet.v1.ClusterService/ListClusters"));
      expect(s.json).toBeLessThanOrEqual(maxRequestBytes("hyperfleet.v1.ClusterService/ListClusters"));
    }
  });

  test("every method named in REQUEST_BYTES_BY_METHOD exists", () => {
    const methods = API_SERVICES.flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`));
    expect(methods.filter((m) => Object.hasOwn(REQUEST_BYTES_BY_METHOD, m)).sort()).toEqual(Object.keys(REQUEST_BYTES_BY_METHOD).sort());
  });
});

function worstReport(data: JsonObject) {
  return { resourceId: "0190aaaa-0000-7000-8000-000000000000", adapter: "a".repeat(MAX_ADAPTER_NAME_LENGTH), data };
}

/** MAX_CONDITIONS conditions (the mandatory three, then the longest types) with the longest reasons and messages. */
function worstConditions() {
  const types = ["Applied", "Available", "Health", ...Array.from({ length: MAX_CONDITIONS - 3 }, (_, i) => `${String(i).padStart(2, "0")}${"T".repeat(MAX_CONDITION_TYPE_LENGTH - 2)}`)];
  return types.map((type) => ({ type, status: ConditionStatus.TRUE, reason: "€".repeat(MAX_CONDITION_REASON_LENGTH), message: "€".repeat(MAX_CONDITION_MESSAGE_LENGTH) }));
}

/** A filter of MAX_FILTER_LENGTH characters, nearly all of them 3-byte characters. */
function worstFilter(): string {
  const head = "name = '";
  return `${head}${"€".repeat(MAX_FILTER_LENGTH - head.length - 1)}'`;
}
