import { decideInterrupt, type InterruptAction } from "./decide-interrupt.js";

test.each<[string, number, InterruptAction]>([
  ["the first Ctrl-C stops every service gracefully", 1, "stop"],
  ["a second joins that stop and says what it waits for", 2, "remind"],
  ["a third kills what is left at once", 3, "kill"],
  ["and so does every one after", 7, "kill"],
])("decideInterrupt: %s", (_, count, expected) => {
  expect(decideInterrupt(count)).toBe(expected);
});
