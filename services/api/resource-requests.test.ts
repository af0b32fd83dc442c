import type { JsonObject } from "@bufbuild/protobuf";
import { ResourceView } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { InvalidArgumentError } from "./core/domain-errors.js";
import { toConnectError } from "./errors.js";
import { MAX_FORCE_DELETE_REASON_LENGTH, MAX_JSON_DEPTH, MAX_PAGE_TOKEN_LENGTH, MAX_UPDATE_MASK_PATHS } from "./limits.js";
import { checkCreate, checkForceDelete, checkGet, checkList, checkUpdate, COMMON_FILTER_FIELDS, encodePageToken } from "./resource-requests.js";

const schema = { labelsColumn: "labels", fields: COMMON_FILTER_FIELDS };
const id = "0190aaaa-0000-7000-8000-000000000000";

/** The fields of the InvalidArgumentError `fn` throws (fails when it throws nothing or something else). */
function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as InvalidArgumentError).violations.map((v) => v.field);
  }
  throw new Error("expected InvalidArgumentError");
}

function nested(depth: number): JsonObject {
  let v: JsonObject = { x: 1 };
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

const labels = (n: number, key = (i: number) => `-bad${i}`) => Object.fromEntries(Array.from({ length: n }, (_, i) => [key(i), "v"]));

describe("request checks: every bad input is InvalidArgument naming its field, before any work", () => {
  test("Regression guard: 40,000 invalid label keys ran the API out of heap; now one short violation", () => {
    let err: unknown;
    try {
      checkCreate({ name: "cls-1", labels: labels(40_000), spec: {} }, "Cluster");
    } catch (e) {
      err = e;
    }
    const ce = toConnectError(err);
    expect(ce.rawMessage).toBe("labels: must have at most 64 entries (got 40000)");
    expect(ce.details.length).toBe(1);
  });

  test("64 invalid labels list 20 violations and 'and 44 more'", () => {
    let err: unknown;
    try {
      checkCreate({ name: "cls-1", labels: labels(64), spec: {} }, "Cluster");
    } catch (e) {
      err = e;
    }
    expect((err as InvalidArgumentError).violations).toHaveLength(20);
    expect((err as InvalidArgumentError).omitted).toBe(44);
    expect((err as Error).message).toMatch(/; and 44 more$/);
  });

  test.each([
    [`spec ${MAX_JSON_DEPTH} levels deep → ok`, nested(MAX_JSON_DEPTH), []],
    ["Regression guard: a spec 60 levels deep broke the Sentinel → spec", nested(60), ["spec"]],
    ["spec over 64 KiB → spec", { a: "x".repeat(65_536) }, ["spec"]],
  ] as [string, JsonObject, string[]][])("create and update: %s", (_name, spec, fields) => {
    const create = () => checkCreate({ name: "cls-1", labels: {}, spec }, "Cluster");
    const update = () => checkUpdate({ id, labels: {}, spec });
    if (fields.length === 0) {
      expect(create()).toBe(spec);
      expect(checkUpdate({ id, labels: {}, spec }).spec).toBe(spec);
    } else {
      expect(fieldsOf(create)).toEqual(fields);
      expect(fieldsOf(update)).toEqual(fields);
    }
  });

  test.each([
    [`a page_token of ${MAX_PAGE_TOKEN_LENGTH + 1} characters → page_token`, { pageToken: "A".repeat(MAX_PAGE_TOKEN_LENGTH + 1) }, ["page_token"]],
    ["Regression guard: NUL in a filter was Internal → filter", { filter: "name = 'a\u0000b'" }, ["filter"]],
    ["Regression guard: `constructor = 1` was Internal → filter", { filter: "constructor = 1" }, ["filter"]],
    ["`status.phase = 'constructor'` → filter", { filter: "status.phase = 'constructor'" }, ["filter"]],
    ["101 filter terms → filter", { filter: Array.from({ length: 101 }, () => "generation = 1").join(" or ") }, ["filter"]],
  ])("list: %s", (_name, over, fields) => {
    expect(fieldsOf(() => checkList({ pageSize: 0, pageToken: "", filter: "", ...over }, schema))).toEqual(fields);
  });

  test("list: an issued page token still works", () => {
    expect(checkList({ pageSize: 0, pageToken: encodePageToken(id), filter: "" }, schema).afterId).toBe(id);
  });

  test.each([
    [`${MAX_UPDATE_MASK_PATHS} paths → each bad one named`, Array.from({ length: MAX_UPDATE_MASK_PATHS }, () => "name"), Array.from({ length: MAX_UPDATE_MASK_PATHS }, (_, i) => `update_mask.paths[${i}]`)],
    [`${MAX_UPDATE_MASK_PATHS + 1} paths → update_mask.paths, once`, Array.from({ length: MAX_UPDATE_MASK_PATHS + 1 }, () => "name"), ["update_mask.paths"]],
    [`more than ${MAX_UPDATE_MASK_PATHS} paths (100,000) → update_mask.paths, once`, Array.from({ length: 100_000 }, () => "x"), ["update_mask.paths"]],
  ])("update: %s", (_name, paths, fields) => {
    expect(fieldsOf(() => checkUpdate({ id, labels: {}, updateMask: { paths } as never }))).toEqual(fields);
  });

  test.each([
    [`a reason of ${MAX_FORCE_DELETE_REASON_LENGTH} → ok`, "r".repeat(MAX_FORCE_DELETE_REASON_LENGTH), []],
    [`a reason of ${MAX_FORCE_DELETE_REASON_LENGTH + 1} → reason`, "r".repeat(MAX_FORCE_DELETE_REASON_LENGTH + 1), ["reason"]],
  ])("force delete: %s", (_name, reason, fields) => {
    if (fields.length === 0) expect(() => checkForceDelete({ id, reason })).not.toThrow();
    else expect(fieldsOf(() => checkForceDelete({ id, reason }))).toEqual(fields);
  });

  test("get: a view number that names nothing → view", () => {
    expect(fieldsOf(() => checkGet({ id, view: 7 as ResourceView }))).toEqual(["view"]);
    expect(checkGet({ id, view: ResourceView.FULL })).toBe(true);
  });
});
