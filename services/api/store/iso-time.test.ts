import { createRequire } from "node:module";
import { isoTime, isoTimeMs, parseIsoTime } from "./iso-time.js";
import { seededRandom } from "../../../test/support/seeded-random.js";

/** pg's own timestamptz parser, which isoTimeMs must agree with. */
const postgresDate = createRequire(import.meta.url)("postgres-date") as (s: string) => Date;

const YEAR_10000 = 253_402_300_800_000;
const DAY_MS = 86_400_000;
const rnd = seededRandom("iso-time.test");

/**
 * Instants from 1970 to 9999 where a date formatter goes wrong: the first and last milliseconds of
 * every year and every 1 March over a whole 400-year leap cycle (leap days, the 100- and 400-year
 * rules), of random months and days up to 9999, and uniformly random ones (all widths of milliseconds).
 * Sized to run in about a second: code under jest's VM modules runs several times slower than plain node.
 */
function instants(random: number): number[] {
  const out: number[] = [];
  for (let y = 1970; y <= 2400; y++) {
    for (const start of [Date.UTC(y, 0, 1), Date.UTC(y, 2, 1)]) out.push(start - 1, start, start + 1);
  }
  for (let i = 0; i < random; i++) {
    const monthStart = Date.UTC(rnd.int(1970, 10_000), rnd.int(0, 12), 1);
    const dayStart = rnd.int(0, YEAR_10000 / DAY_MS) * DAY_MS;
    out.push(monthStart + rnd.int(-1, 2), dayStart + rnd.int(-1, 2), rnd.int(0, YEAR_10000));
  }
  return out.filter((ms) => ms >= 0 && ms < YEAR_10000);
}

/** Mismatches of `got` against `want` over `inputs`, the first few (one expect per test: expect is slow). */
function mismatches<I>(inputs: I[], got: (i: I) => unknown, want: (i: I) => unknown): { input: I; got: unknown; want: unknown }[] {
  const bad: { input: I; got: unknown; want: unknown }[] = [];
  for (const input of inputs) {
    const [g, w] = [got(input), want(input)];
    if (g !== w && bad.push({ input, got: g, want: w }) >= 5) break;
  }
  return bad;
}

test("writes what toISOString writes, at year, leap-day, month and day boundaries and at random instants from 1970 to 9999", () => {
  const bad = mismatches(instants(8_000), (ms) => isoTime(new Date(ms)), (ms) => new Date(ms).toISOString());
  expect({ seed: rnd.seed, bad }).toEqual({ seed: rnd.seed, bad: [] });
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

  test("reads toISOString's text as new Date does, at the same boundaries and random instants", () => {
    const bad = mismatches(instants(4_000).map((ms) => new Date(ms).toISOString()), (s) => parseIsoTime(s).getTime(), (s) => new Date(s).getTime());
    expect({ seed: rnd.seed, bad }).toEqual({ seed: rnd.seed, bad: [] });
  });

  test("reads Postgres's timestamptz text as postgres-date (pg's parser) does, at the same boundaries and random instants, offsets and microseconds", () => {
    const offsets = ["+00", "+05:30", "-08", "+14", "-03:30", "Z", "+23:59", "-23:59"];
    // Every offset and microsecond width at least once, then at random.
    const texts = instants(3_000)
      .filter((ms) => ms >= Date.UTC(1000, 0, 1))
      .map((ms, i) => pgText(new Date(ms), i < 64 ? [0, 7, 70, 999][i % 4] : rnd.int(0, 1000), i < 64 ? offsets[i % offsets.length] : rnd.pick(offsets)));
    const bad = mismatches(texts, (s) => isoTimeMs(s), (s) => postgresDate(s).getTime());
    expect({ seed: rnd.seed, bad }).toEqual({ seed: rnd.seed, bad: [] });
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
