import { createRequire } from "node:module";
import { isoTime, isoTimeMs, parseIsoTime } from "./iso-time.js";

/** pg's own timestamptz parser, which isoTimeMs must agree with. */
const postgresDate = createRequire(import.meta.url)("postgres-date") as (s: string) => Date;

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

describe("parseIsoTime and isoTimeMs", () => {
  /** Postgres's own timestamptz text: a space, up to six fraction digits without trailing zeros, +HH or +HH:MM. */
  const pgText = (d: Date, micros: number, offset: string) => {
    const iso = d.toISOString();
    const frac = `${iso.slice(20, 23)}${String(micros).padStart(3, "0")}`.replace(/0+$/, "");
    return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac ? `.${frac}` : ""}${offset}`;
  };

  test("reads toISOString's text as new Date does, for random instants", () => {
    for (let i = 0; i < 100_000; i++) {
      const d = new Date(Math.floor(Math.random() * 253_402_300_800_000));
      expect(parseIsoTime(d.toISOString()).getTime()).toBe(d.getTime());
    }
  });

  test("reads Postgres's timestamptz text as postgres-date (pg's parser) does, for random instants and offsets", () => {
    for (let i = 0; i < 100_000; i++) {
      const d = new Date(Date.UTC(1000, 0, 1) + Math.floor(Math.random() * (253_402_300_800_000 - Date.UTC(1000, 0, 1))));
      const offset = ["+00", "+05:30", "-08", "+14", "-03:30", "Z"][i % 6];
      const s = pgText(d, Math.floor(Math.random() * 1000), offset);
      expect(isoTimeMs(s)).toBe(postgresDate(s).getTime());
    }
  });

  test.each([
    ["to_json's text", "2026-11-26T18:16:00.123456+00:00"],
    ["no fraction", "2026-11-26T18:16:00Z"],
    ["one fraction digit", "2026-11-26T18:16:00.5Z"],
    ["nine fraction digits", "2026-11-26T18:16:00.999999999Z"],
    ["a leap day", "2024-02-29T23:59:59.999Z"],
  ])("%s: as new Date", (_, s) => {
    expect(isoTimeMs(s)).toBe(new Date(s).getTime());
    expect(parseIsoTime(s).getTime()).toBe(new Date(s).getTime());
  });

  test.each([
    ["no offset (local time)", "2026-11-26T18:16:00.123"],
    ["a date only", "2026-11-26"],
    ["February 30", "2026-02-30T00:00:00Z"],
    ["February 29 in a common year", "2100-02-29T00:00:00Z"],
    ["hour 24", "2026-11-26T24:00:00Z"],
    ["a year before 1000", "0099-01-01T00:00:00Z"],
    ["a dot without digits", "2026-11-26T18:16:00.Z"],
    ["text after the offset", "2026-11-26T18:16:00Z junk"],
    ["an hour-only offset after a T", "2026-11-26T18:16:00+05"],
    ["an offset of 24 hours", "2026-11-26T18:16:00+24:00"],
    ["infinity", "infinity"],
    ["nonsense", "not a time at all, but long"],
  ])("%s: left to the parser it replaces", (_, s) => {
    expect(isoTimeMs(s)).toBeUndefined();
    expect(parseIsoTime(s).getTime()).toEqual(new Date(s).getTime());
  });
});
