import { HEAP_BUDGET_MB, serviceNodeArgs } from "./processes.js";

test.each([
  ["no extra flags: the heap budget", {}, [`--max-old-space-size=${HEAP_BUDGET_MB}`]],
  ["extra flags come after the budget", { HYPERFLEET_NODE_ARGS: "--cpu-prof  --cpu-prof-dir=/tmp/p" }, [`--max-old-space-size=${HEAP_BUDGET_MB}`, "--cpu-prof", "--cpu-prof-dir=/tmp/p"]],
  ["a budget of the user's own replaces ours", { HYPERFLEET_NODE_ARGS: "--max-old-space-size=512" }, ["--max-old-space-size=512"]],
  ["so does one in NODE_OPTIONS (a command-line flag would override it)", { NODE_OPTIONS: "--max-old-space-size=1024" }, []],
])("serviceNodeArgs: %s", (_, env, expected) => {
  expect(serviceNodeArgs(env)).toEqual(expected);
});
