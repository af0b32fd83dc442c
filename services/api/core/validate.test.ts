import { validateLabels, validateName, validateReport, type ReportInput } from "./validate.js";

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
  ] as [string, Record<string, string>, string[]][])("%s", (_name, labels, fields) => {
    expect(validateLabels(labels).map((v) => v.field)).toEqual(fields);
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
    ["Regression guard: NUL in a condition message became a Postgres 22P05 (500)", { conditions: [...ok.conditions.slice(0, 2), { type: "Health", status: "True", message: "a\u0000b" }] }, ["conditions"]],
    ["NUL in data", { data: { dns: "x\u0000" } }, ["data"]],
  ] as [string, Partial<ReportInput>, string[]][])("%s", (_name, over, fields) => {
    expect(validateReport({ ...ok, ...over }, now).map((v) => v.field)).toEqual(fields);
  });
});
