import { parseDuration } from "./config.js";

test.each([
  ["150ms", 150],
  ["10s", 10_000],
  ["30m", 1_800_000],
  ["1h", 3_600_000],
  ["1m30s", 90_000],
  ["0.5s", 500],
  ["10", undefined],
  ["10 s", undefined],
  ["s", undefined],
  ["", undefined],
])("parseDuration(%j) = %j", (text, ms) => expect(parseDuration(text)).toBe(ms));
