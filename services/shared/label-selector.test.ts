import { isLabelKey, isLabelValue, matches, parseLabelSelector, type Requirement } from "./label-selector.js";

describe("parseLabelSelector", () => {
  test.each([
    ["empty → no requirements", "", []],
    ["one equality", "shard=a", [{ key: "shard", op: "=", value: "a" }]],
    ["== and != and spaces", " shard == a , env!=dev ", [{ key: "shard", op: "=", value: "a" }, { key: "env", op: "!=", value: "dev" }]],
    ["an empty value", "env=", [{ key: "env", op: "=", value: "" }]],
    ["prefixed key", "hyperfleet.io/shard=b", [{ key: "hyperfleet.io/shard", op: "=", value: "b" }]],
    ["set in, spaces inside", "tier in (web, db)", [{ key: "tier", op: "in", values: ["web", "db"] }]],
    ["set notin, no space before the parenthesis", "tier notin(web)", [{ key: "tier", op: "notin", values: ["web"] }]],
    ["exists and does not exist", "tier,! env", [{ key: "tier", op: "exists" }, { key: "env", op: "!exists" }]],
    ["a set's commas stay in the set", "app=hf,tier in (db,web),!env", [{ key: "app", op: "=", value: "hf" }, { key: "tier", op: "in", values: ["db", "web"] }, { key: "env", op: "!exists" }]],
    ["a trailing comma is tolerated", "shard=a,", [{ key: "shard", op: "=", value: "a" }]],
  ] as [string, string, Requirement[]][])("%s: %j", (_name, text, requirements) => {
    expect(parseLabelSelector(text)).toEqual({ ok: true, requirements });
  });

  test.each([
    ["a space inside a requirement", "a b"],
    ["a parenthesised value", "a=(b)"],
    ["a set without a key", "in (x)"],
    ["a quote in the value", "shard='a'"],
    ["a quote in a set value", "shard in ('a')"],
    ["an empty set", "shard in ()"],
    ["a value with a space", "shard=a b"],
    ["an uppercase key prefix", "Hyperfleet.io/shard=a"],
    ["two slashes in the key", "a/b/c=d"],
    ["a key name over 63 characters", `${"k".repeat(64)}=v`],
    ["a value over 63 characters", `k=${"v".repeat(64)}`],
    ["a value ending in a dash", "k=v-"],
    ["an operator the grammar lacks", "replicas>3"],
    ["an unclosed set", "tier in (web"],
  ])("rejects %s: %j", (_name, text) => {
    const r = parseLabelSelector(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^unable to parse requirement/);
  });
});

describe("isLabelKey / isLabelValue", () => {
  test.each([
    ["app", true],
    ["hyperfleet.io/cluster-id", true],
    ["a_b.c-d", true],
    ["-app", false],
    ["/app", false],
    ["example.com/", false],
    [`${"a".repeat(63)}`, true],
    [`${"a".repeat(254)}/x`, false],
  ])("key %j → %s", (key, want) => expect(isLabelKey(key)).toBe(want));

  test.each([
    ["", true],
    ["v1.2_3-x", true],
    [".v", false],
    ["a'b", false],
    ["a,b", false],
  ])("value %j → %s", (value, want) => expect(isLabelValue(value)).toBe(want));
});

describe("matches", () => {
  const labels = { app: "hf", "hyperfleet.io/cluster-id": "c1", tier: "web" };
  test.each([
    ["equality", "app=hf", true],
    ["double equals", "app==hf", true],
    ["equality miss", "app=other", false],
    ["equality on an absent label", "env=prod", false],
    ["inequality of a present label", "app!=hf", false],
    ["inequality of an absent label matches", "env!=prod", true],
    ["prefixed key", "hyperfleet.io/cluster-id=c1", true],
    ["set in", "tier in (web, db)", true],
    ["set in, absent label", "env in (prod)", false],
    ["set notin", "tier notin (web)", false],
    ["set notin, absent label matches", "env notin (prod)", true],
    ["exists", "tier", true],
    ["does not exist", "!tier", false],
    ["conjunction across a set's commas", "app=hf,tier in (db,web),!env", true],
    ["conjunction with one miss", "app=hf,tier=db", false],
    ["empty selector matches everything", "", true],
  ])("%s: %j → %s", (_name, selector, want) => {
    const p = parseLabelSelector(selector);
    if (!p.ok) throw new Error(p.error);
    expect(matches(p.requirements, labels)).toBe(want);
  });

  test("no labels at all: only negative requirements match", () => {
    const parse = (s: string) => (parseLabelSelector(s) as { requirements: Requirement[] }).requirements;
    expect([parse("a!=b"), parse("a notin (b)"), parse("!a"), parse("a"), parse("a=b"), parse("a in (b)")].map((r) => matches(r, undefined))).toEqual([true, true, true, false, false, false]);
  });
});
