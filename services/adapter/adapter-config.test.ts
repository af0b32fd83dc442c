import { readdirSync } from "node:fs";
import { AdapterConfigError, loadAdapterConfig, parseAdapterConfig, splitTemplate } from "./adapter-config.js";

const base = (objects: string, extra = "") => `adapter: demo
resourceKind: clusters
${extra}
objects:
${objects}
`;
const job = (name = "demo-${cluster.id}-gen${cluster.generation}", readiness = "job") => `  - id: job
    onNewGeneration: newObject
    readiness: ${readiness}
    manifest:
      apiVersion: batch/v1
      kind: Job
      metadata:
        name: "${name}"
`;

test.each(readdirSync("services/adapter/configs").filter((f) => f.endsWith(".yaml")))("shipped config %s compiles", (file) => {
  const plan = loadAdapterConfig(`services/adapter/configs/${file}`);
  expect(plan.name).toBe(file.replace(".yaml", ""));
  expect(plan.objects.length).toBeGreaterThan(0);
});

describe("config errors are caught at load, with file, line and path", () => {
  test.each([
    ["a typo in a cluster field", base(job("demo-${cluster.nmae}-gen${cluster.generation}")), /demo\.yaml:12: objects\[0\]\.manifest\.metadata\.name: unknown field "nmae" of cluster/],
    ["an unknown variable", base(job("demo-${clustr.id}-generation")), /unknown variable "clustr"/],
    ["a syntax error", base(job("demo-${cluster.id +}-generation")), /syntax error/],
    ["an unknown object in data", base(job(), "data:\n  dns: \"objects.recrd.status.domain\""), /demo\.yaml:4: data\.dns: unknown object "recrd"/],
    ["a precondition entry with an unknown field", base(job(), "preconditions:\n  adapters: [{ name: validation, strict: true, stritc: false }]"), /preconditions\.adapters\[0\]: unknown field "stritc" \(known: name, strict\)/],
    ["a precondition's strict that is not a boolean", base(job(), "preconditions:\n  adapters: [{ name: validation, strict: yes please }]"), /preconditions\.adapters\[0\]\.strict: must be true or false/],
    ["an unknown adapter status field in a precondition", base(job(), "preconditions:\n  when: \"adapters.dns.observed_gen > 0\""), /preconditions\.when: unknown field "observed_gen" of adapters\.dns/],
    ["a bad strategy", base(job().replace("newObject", "sometimes")), /objects\[0\]\.onNewGeneration: must be one of newObject, replace, annotate/],
    ["a newObject name without the generation", base(job("demo-${cluster.id}")), /must carry the generation/],
    ["a missing readiness", base(job().replace("    readiness: job\n", "")), /objects\[0\]\.readiness: required/],
    ["`object` outside readiness", base(job(), "data:\n  x: \"object.status\""), /only available in readiness/],
    ["an unknown top-level key", base(job(), "colour: blue"), /colour: unknown key/],
    ["invalid YAML", "adapter: [unclosed", /demo\.yaml:1:/],
    ["Regression guard: an object in another namespace escaped cleanup", base(job().replace('        name: "demo-${cluster.id}-gen${cluster.generation}"', '        name: "demo-${cluster.id}-gen${cluster.generation}"\n        namespace: elsewhere')), /metadata\.namespace: not allowed/],
  ])("%s", (_name, text, message) => {
    let err: unknown;
    try {
      parseAdapterConfig(text, "demo.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AdapterConfigError);
    expect((err as Error).message).toMatch(message);
  });
});

test.each([
  ["plain", "abc", [{ text: "abc", expr: false }]],
  ["one hole", "${x}", [{ text: "x", expr: true }]],
  ["mixed", "a-${x}-b", [{ text: "a-", expr: false }, { text: "x", expr: true }, { text: "-b", expr: false }]],
  ["nested braces", "${ {'a': 1}['a'] }", [{ text: " {'a': 1}['a'] ", expr: true }]],
])("splitTemplate: %s", (_name, s, want) => expect(splitTemplate(s)).toEqual(want));

test("preconditions: a name counts while working on a new generation (the seed's 42:02); { name, strict: true } only once Available; the shipped dns and placement follow the seed", () => {
  const plan = parseAdapterConfig(base(job(), "preconditions:\n  adapters: [validation, { name: dns, strict: true }]"), "demo.yaml");
  expect(plan.preconditions.adapters).toEqual([{ adapter: "validation", strict: false }, { adapter: "dns", strict: true }]);
  expect(loadAdapterConfig("services/adapter/configs/dns.yaml").preconditions.adapters).toEqual([{ adapter: "validation", strict: false }]);
  expect(loadAdapterConfig("services/adapter/configs/placement.yaml").preconditions.adapters).toEqual([{ adapter: "validation", strict: false }, { adapter: "dns", strict: false }]);
});
