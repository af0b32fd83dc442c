import { matches, parseSelector } from "./label-selector.js";

const labels = { app: "hf", "hyperfleet.io/cluster-id": "c1", tier: "web" };

test.each([
  ["equality", "app=hf", true],
  ["double equals", "app==hf", true],
  ["equality miss", "app=other", false],
  ["inequality of a present label", "app!=hf", false],
  ["inequality of an absent label matches", "env!=prod", true],
  ["prefixed key", "hyperfleet.io/cluster-id=c1", true],
  ["set in", "tier in (web, db)", true],
  ["set notin", "tier notin (web)", false],
  ["exists", "tier", true],
  ["does not exist", "!tier", false],
  ["conjunction across a set's commas", "app=hf,tier in (db,web),!env", true],
  ["empty selector matches everything", "", true],
])("%s: %s → %s", (_name, selector, want) => {
  const p = parseSelector(selector);
  if (!p.ok) throw new Error(p.error);
  expect(matches(p.requirements, labels)).toBe(want);
});

test.each(["a b", "a=(b)", "in (x)"])("rejects %j", (s) => expect(parseSelector(s).ok).toBe(false));
