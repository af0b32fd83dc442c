import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { HEAP_BUDGET_MB, LIFELINE_ENTRY, MALLOC_ARENAS, SEMI_SPACE_MB, serviceArgs, serviceEnv, serviceNodeArgs } from "./processes.js";

const semi = `--max-semi-space-size=${SEMI_SPACE_MB}`;
test.each([
  ["no extra flags: the heap budget and the young generation", {}, [`--max-old-space-size=${HEAP_BUDGET_MB}`, semi]],
  ["extra flags come after them", { HYPERFLEET_NODE_ARGS: "--cpu-prof  --cpu-prof-dir=/tmp/p" }, [`--max-old-space-size=${HEAP_BUDGET_MB}`, semi, "--cpu-prof", "--cpu-prof-dir=/tmp/p"]],
  ["a budget of the user's own replaces ours", { HYPERFLEET_NODE_ARGS: "--max-old-space-size=512" }, [semi, "--max-old-space-size=512"]],
  ["so does one in NODE_OPTIONS (a command-line flag would override it)", { NODE_OPTIONS: "--max-old-space-size=1024 --max-semi-space-size=8" }, []],
])("serviceNodeArgs: %s", (_, env, expected) => {
  expect(serviceNodeArgs(env)).toEqual(expected);
});

const url = (path: string) => pathToFileURL(resolve(path)).href;

test.each([
  ["a compiled service: its flags, the lifeline's bundle, then its own", { "services/api/main.ts": "b/api.mjs", [LIFELINE_ENTRY]: "b/lifeline.mjs" }, ["--max-old-space-size=192", "--import", url("b/lifeline.mjs"), "b/api.mjs"]],
  ["no bundles: tsx, then the lifeline and the service as TypeScript", {}, ["--max-old-space-size=192", "--import", "tsx", "--import", url(LIFELINE_ENTRY), "services/api/main.ts"]],
])("serviceArgs: %s", (_, bundles, expected) => {
  expect(serviceArgs("services/api/main.ts", bundles, ["--max-old-space-size=192"])).toEqual(expected);
});

test.each([
  ["glibc's arenas bounded by default", { PATH: "/bin" }, {}, MALLOC_ARENAS],
  ["the user's own setting stands", { MALLOC_ARENA_MAX: "8" }, {}, "8"],
  ["a service's own spec wins over both", { MALLOC_ARENA_MAX: "8" }, { MALLOC_ARENA_MAX: "1" }, "1"],
])("serviceEnv: %s", (_, env, own, expected) => {
  // Everything else passes through as given.
  expect(serviceEnv(env, own)).toEqual({ ...env, ...own, MALLOC_ARENA_MAX: expected });
});
