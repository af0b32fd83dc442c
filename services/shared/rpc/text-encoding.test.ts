import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ConditionSchema } from "../../../gen/hyperfleet/v1/condition_pb.js";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import { encodeUtf8 } from "./text-encoding.js";

const te = new TextEncoder();

test.each([
  ["empty", ""],
  ["ascii", "validation-job"],
  ["ascii at the length limit", "x".repeat(64)],
  ["long ascii", "a long message ".repeat(20)],
  ["accents", "café déjà vu"],
  ["non-ascii late in a short string", "status: naïve"],
  ["emoji (surrogate pairs)", "ready 🚀 now"],
  ["a lone surrogate (U+FFFD, as TextEncoder)", "bad \ud800 half"],
  ["NUL and control characters", "a\u0000b\u0001c\n"],
])("%s: the same bytes as TextEncoder", (_, s) => {
  expect(Buffer.from(encodeUtf8(s)).equals(Buffer.from(te.encode(s)))).toBe(true);
});

test("protobuf messages encode through it (installed on import) and decode back", () => {
  expect(getTextEncoding().encodeUtf8).toBe(encodeUtf8);
  const c = create(ConditionSchema, { type: "Available", reason: "JobRunning", message: "naïve 🚀 ".repeat(20) });
  expect(fromBinary(ConditionSchema, toBinary(ConditionSchema, c))).toEqual(c);
});
