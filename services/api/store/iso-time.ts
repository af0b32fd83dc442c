/**
 * Timestamps to and from text, about twice as fast as the built-ins, for the report path: each report
 * turns ~13 Dates into text for Postgres and reads ~25 back (its resource's, its status rows' and
 * their conditions'). For the shapes they take, the same results as the built-ins they stand in
 * for; every other input goes to those built-ins.
 */

/**
 * `Date.prototype.toISOString` for every date from 1970 to 9999; any other (and an invalid one,
 * which throws) goes to toISOString itself.
 */
export function isoTime(d: Date): string {
  const ms = d.getTime();
  if (ms === lastMs) return lastIso; // one report's times are mostly one instant
  if (!(ms >= 0 && ms < YEAR_10000)) return d.toISOString();
  const days = Math.floor(ms / DAY_MS);
  let rem = ms - days * DAY_MS;
  // Civil date from days since the epoch (Howard Hinnant's days_from_civil, inverted).
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const h = Math.floor(rem / 3_600_000);
  rem -= h * 3_600_000;
  const mi = Math.floor(rem / 60_000);
  rem -= mi * 60_000;
  const s = Math.floor(rem / 1000);
  const milli = rem - s * 1000;
  lastMs = ms;
  lastIso = `${year < 1000 ? String(year).padStart(4, "0") : year}-${two(month)}-${two(day)}T${two(h)}:${two(mi)}:${two(s)}.${milli < 10 ? "00" : milli < 100 ? "0" : ""}${milli}Z`;
  return lastIso;
}

/**
 * Milliseconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (toISOString's and
 * to_json's text, as `new Date` reads it) and of `YYYY-MM-DD HH:MM:SS[.fraction](Z|±HH|±HH:MM)`
 * (Postgres's own timestamptz output, as pg's postgres-date reads it), fractions truncated to the
 * millisecond; undefined for anything else (other shapes, years before 1000, impossible dates or
 * offsets), which the caller hands to the parser it replaces.
 */
export function isoTimeMs(s: string): number | undefined {
  const n = s.length;
  if (n < 20) return undefined;
  const sep = s.charCodeAt(10);
  if (s.charCodeAt(4) !== DASH || s.charCodeAt(7) !== DASH || (sep !== T && sep !== SPACE) || s.charCodeAt(13) !== COLON || s.charCodeAt(16) !== COLON) return undefined;
  const year = num(s, 0, 4);
  const month = num(s, 5, 2);
  const day = num(s, 8, 2);
  const h = num(s, 11, 2);
  const mi = num(s, 14, 2);
  const sec = num(s, 17, 2);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return undefined;
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === DOT) {
    const start = ++i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i === start) return undefined;
    ms = num(`${s.slice(start, Math.min(i, start + 3))}00`, 0, 3);
  }
  let offsetMin = 0;
  const c = s.charCodeAt(i);
  if (c === Z && i === n - 1) offsetMin = 0;
  // `new Date` refuses ±HH after a T (Postgres writes it, after a space).
  else if ((c === PLUS || c === DASH) && ((n - i === 3 && sep === SPACE) || (n - i === 6 && s.charCodeAt(i + 3) === COLON))) {
    const oh = num(s, i + 1, 2);
    const om = n - i === 6 ? num(s, i + 4, 2) : 0;
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined;
    offsetMin = (c === PLUS ? 1 : -1) * (oh * 60 + om);
  } else return undefined;
  return Date.UTC(year, month - 1, day, h, mi, sec, ms) - offsetMin * 60_000;
}

/** `new Date(s)`, quicker for the shapes isoTimeMs reads. */
export function parseIsoTime(s: string): Date {
  const ms = isoTimeMs(s);
  return ms === undefined ? new Date(s) : new Date(ms);
}

const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00Z: toISOString writes later years with six digits and a sign. */
const YEAR_10000 = 253_402_300_800_000;
let lastMs = NaN;
let lastIso = "";
const [DASH, COLON, DOT, PLUS, SPACE, T, Z] = ["-", ":", ".", "+", " ", "T", "Z"].map((x) => x.charCodeAt(0));

const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const isDigit = (c: number) => c >= 48 && c <= 57;

/** The decimal number in s[at, at + len), or -1 if any of it is not a digit. */
function num(s: string, at: number, len: number): number {
  let v = 0;
  for (let i = at; i < at + len; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

function daysIn(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}
