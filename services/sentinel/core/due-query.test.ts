import { dueFilter, parseLabelSelector, type LabelRequirement } from "./due-query.js";

describe("parseLabelSelector", () => {
  test.each([
    ["empty → whole fleet", "", []],
    ["one equality", "shard=a", [{ key: "shard", op: "=", value: "a" }]],
    ["== and != and spaces", " shard == a , env!=dev ", [{ key: "shard", op: "=", value: "a" }, { key: "env", op: "!=", value: "dev" }]],
    ["prefixed key", "hyperfleet.io/shard=b", [{ key: "hyperfleet.io/shard", op: "=", value: "b" }]],
  ] as [string, string, LabelRequirement[]][])("%s", (_name, text, requirements) => {
    expect(parseLabelSelector(text)).toEqual({ ok: true, requirements });
  });

  test.each([
    ["no operator", "shard"],
    ["a quote in the value", "shard='a'"],
    ["set syntax is not supported", "shard in (a,b)"],
  ])("rejects %s", (_name, text) => expect(parseLabelSelector(text)).toMatchObject({ ok: false }));
});

describe("dueFilter (spec §5 as an API filter)", () => {
  const now = new Date("2026-01-01T10:41:11.000Z");
  const cfg = { maxAgeNotReadyMs: 10_000, maxAgeReadyMs: 1_800_000 };
  test.each([
    [
      "whole fleet: generation ahead, or stale for its phase",
      [],
      "(generation > status.observed_generation or (status.phase = 'NotReady' and status.last_updated_time < '2026-01-01T10:41:01.000Z') or (status.phase = 'Ready' and status.last_updated_time < '2026-01-01T10:11:11.000Z'))",
    ],
    [
      "a shard adds its label requirements",
      [{ key: "shard", op: "=", value: "a" }, { key: "env", op: "!=", value: "dev" }],
      "(generation > status.observed_generation or (status.phase = 'NotReady' and status.last_updated_time < '2026-01-01T10:41:01.000Z') or (status.phase = 'Ready' and status.last_updated_time < '2026-01-01T10:11:11.000Z')) and labels.shard = 'a' and labels.env != 'dev'",
    ],
  ] as [string, LabelRequirement[], string][])("%s", (_name, selector, want) => {
    expect(dueFilter(now, cfg, selector)).toBe(want);
  });
});
