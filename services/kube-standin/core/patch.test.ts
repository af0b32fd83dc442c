import { jsonPatch, mergePatch, type JsonPatchOp } from "./patch.js";

test.each([
  ["objects merge recursively", { a: { b: 1, c: 2 } }, { a: { c: 3 } }, { a: { b: 1, c: 3 } }],
  ["null deletes a key", { a: 1, b: 2 }, { b: null }, { a: 1 }],
  ["arrays are replaced whole", { a: [1, 2] }, { a: [3] }, { a: [3] }],
  ["annotations patch leaves the spec alone", { metadata: { annotations: { g: "1" } }, spec: { x: 1 } }, { metadata: { annotations: { g: "2" } } }, { metadata: { annotations: { g: "2" } }, spec: { x: 1 } }],
])("merge patch: %s", (_name, target, patch, want) => expect(mergePatch(target, patch)).toEqual(want));

test.each([
  ["replace a field", { a: 1 }, [{ op: "replace", path: "/a", value: 2 }], { a: 2 }],
  ["add to a map, escaping '/' in the key", { m: {} }, [{ op: "add", path: "/m/hyperfleet.io~1generation", value: "2" }], { m: { "hyperfleet.io/generation": "2" } }],
  ["append to an array", { l: [1] }, [{ op: "add", path: "/l/-", value: 2 }], { l: [1, 2] }],
  ["remove", { a: 1, b: 2 }, [{ op: "remove", path: "/a" }], { b: 2 }],
  ["test then replace", { a: 1 }, [{ op: "test", path: "/a", value: 1 }, { op: "replace", path: "/a", value: 5 }], { a: 5 }],
] as [string, unknown, JsonPatchOp[], unknown][])("json patch: %s", (_name, target, ops, want) => expect(jsonPatch(target, ops)).toEqual(want));

test.each([
  ["failing test", [{ op: "test", path: "/a", value: 2 }], /test failed/],
  ["replace of a missing key", [{ op: "replace", path: "/zz", value: 2 }], /does not exist/],
] as [string, JsonPatchOp[], RegExp][])("json patch rejects %s", (_name, ops, message) => expect(() => jsonPatch({ a: 1 }, ops)).toThrow(message));
