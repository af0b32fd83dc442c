import { ResourceExhaustedError } from "./core/domain-errors.js";
import { createWatchers } from "./watch.js";

test("one caller cannot take every watch place: past its cap it is refused, naming it, while others still get places", () => {
  const w = createWatchers({ max: 10, perCaller: 3 });
  const held = [w.enter("clusters", "user:mallory"), w.enter("clusters", "user:mallory"), w.enter("nodepools", "user:mallory")];
  expect(() => w.enter("clusters", "user:mallory")).toThrow(ResourceExhaustedError);
  expect(() => w.enter("clusters", "user:mallory")).toThrow(/user:mallory holds 3 watch streams/);
  const sentinel = w.enter("clusters", "sentinel:clusters");
  // A stream that ends gives its caller's place back (once, however often it says so).
  held[0]();
  held[0]();
  const again = w.enter("clusters", "user:mallory");
  expect(() => w.enter("clusters", "user:mallory")).toThrow(ResourceExhaustedError);
  for (const leave of [again, held[1], held[2], sentinel]) leave();
});

test("the process-wide cap holds whoever asks", () => {
  const w = createWatchers({ max: 2, perCaller: 5 });
  w.enter("clusters", "a");
  w.enter("clusters", "b");
  expect(() => w.enter("clusters", "c")).toThrow(/at most 2 watch streams/);
});
