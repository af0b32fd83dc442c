import { parseLabelSelector } from "../../shared/label-selector.js";
import { dueFilter, labelFilter, shardRequirements, type ShardRequirement } from "./due-query.js";

describe("shardRequirements: what a Sentinel can shard on", () => {
  const parse = (text: string) => {
    const p = parseLabelSelector(text);
    if (!p.ok) throw new Error(p.error);
    return p.requirements;
  };
  test.each([
    ["empty → whole fleet", "", true],
    ["equality and inequality", "shard=a,env!=dev", true],
    ["sets", "shard in (a,b),env notin (dev)", true],
    ["a label that must exist: not expressible in the API filter", "shard", false],
    ["a label that must be absent: not expressible in the API filter", "shard=a,!canary", false],
  ])("%s: %j → %s", (_name, text, ok) => {
    const r = shardRequirements(parse(text));
    expect(r.ok).toBe(ok);
    if (!r.ok) expect(r.error).toMatch(/a Sentinel shards on =, !=, in and notin only/);
  });
});

describe("labelFilter: one requirement as an API filter clause", () => {
  test.each([
    ["=", { key: "shard", op: "=", value: "a" }, "labels.shard = 'a'"],
    ["!=", { key: "env", op: "!=", value: "dev" }, "labels.env != 'dev'"],
    ["in", { key: "hyperfleet.io/shard", op: "in", values: ["a", "b"] }, "labels.hyperfleet.io/shard in ('a', 'b')"],
    ["notin", { key: "env", op: "notin", values: ["dev"] }, "not labels.env in ('dev')"],
  ] as [string, ShardRequirement, string][])("%s", (_name, r, want) => expect(labelFilter(r)).toBe(want));
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
  ] as [string, ShardRequirement[], string][])("%s", (_name, selector, want) => {
    expect(dueFilter(now, cfg, selector)).toBe(want);
  });
});
