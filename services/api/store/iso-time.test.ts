import { isoTime } from "./iso-time.js";

test("writes what toISOString writes, for random instants from 1970 to 9999", () => {
  for (let i = 0; i < 200_000; i++) {
    const d = new Date(Math.floor(Math.random() * 253_402_300_800_000));
    expect(isoTime(d)).toBe(d.toISOString());
  }
});

test.each([
  ["the epoch", 0],
  ["the last millisecond before 10000", 253_402_300_799_999],
  ["a leap day", Date.UTC(2024, 1, 29, 23, 59, 59, 999)],
  ["the day after a century's non-leap February", Date.UTC(2100, 2, 1)],
  ["the 400-year leap day", Date.UTC(2000, 1, 29, 12)],
  ["a millisecond under ten", Date.UTC(2026, 10, 26, 18, 0, 0, 7)],
  ["before 1970 (toISOString's own path)", -1],
  ["year 10000 (six digits and a sign)", 253_402_300_800_000],
])("%s", (_, ms) => {
  const d = new Date(ms);
  expect(isoTime(d)).toBe(d.toISOString());
});

test("the same instant twice, then another, each written afresh", () => {
  const a = new Date(Date.UTC(2026, 0, 1));
  const b = new Date(Date.UTC(2026, 0, 2));
  expect([isoTime(a), isoTime(new Date(a.getTime())), isoTime(b)]).toEqual([a.toISOString(), a.toISOString(), b.toISOString()]);
});

test("an invalid date throws as toISOString does", () => {
  expect(() => isoTime(new Date(NaN))).toThrow(RangeError);
});
