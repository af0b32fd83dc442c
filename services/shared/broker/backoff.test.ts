import { backoffDelay, DEFAULT_RETRY } from "./backoff.js";

const policy = { initialMs: 1000, maxMs: 30_000 };

test.each([
  ["first retry, no jitter drawn: the full initial wait", 0, 0.999_999, 1000],
  ["first retry, most jitter: half the initial wait", 0, 0, 500],
  ["first retry, middle jitter", 0, 0.5, 750],
  ["doubles per attempt", 1, 0.999_999, 2000],
  ["doubles per attempt (third retry)", 3, 0.999_999, 8000],
  ["last attempt under the cap", 4, 0.999_999, 16_000],
  ["at the cap: 32 s becomes 30 s", 5, 0.999_999, 30_000],
  ["capped, with jitter: never below half the cap", 5, 0, 15_000],
  ["far past the cap: no overflow, still the cap", 10_000, 0.999_999, 30_000],
  ["a negative attempt counts as the first", -3, 0, 500],
])("%s", (_name, attempt, random, want) => {
  expect(backoffDelay(attempt, policy, random)).toBe(want);
});

test.each([
  ["initial above the cap: the cap wins", { initialMs: 5000, maxMs: 2000 }, 0, 0.999_999, 2000],
  ["zero initial: retry at once", { initialMs: 0, maxMs: 2000 }, 7, 0.5, 0],
  ["the default starts at 1 s", DEFAULT_RETRY, 0, 0.999_999, 1000],
  ["the default caps at 30 s", DEFAULT_RETRY, 12, 0.999_999, 30_000],
])("%s", (_name, p, attempt, random, want) => {
  expect(backoffDelay(attempt, p, random)).toBe(want);
});
