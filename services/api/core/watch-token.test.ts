import { InvalidArgumentError } from "./domain-errors.js";
import { CHANGE_RETENTION_MS, decodeWatchToken, encodeWatchToken, isSnapshot, snapshotXmax, tokenExpired } from "./watch-token.js";

test.each([
  ["3:3:", true],
  ["748:752:748,750", true],
  ["100:100:", true],
  ["1:1:", false], // not a valid transaction id (Postgres refuses it)
  ["4294967296:4294967296:", false], // low 32 bits zero
  ["5:4:", false], // xmax below xmin
  ["5:9:9", false], // in progress at xmax
  ["5:9:7,6", false], // not ascending
  ["5:9:4", false], // below xmin
  ["5:9:", true],
  ["5:9", false],
  ["05:9:", false],
  ["-5:9:", false],
  ["5:9:x", false],
  [`5:${2n ** 63n}:`, false],
])("isSnapshot(%j) is %s", (text, ok) => {
  expect(isSnapshot(text)).toBe(ok);
});

test("a token round-trips, and is refused for the other kind, when forged, or too long, naming resume_token", () => {
  const t = { kind: "clusters" as const, snapshot: "748:752:748,750", issuedMs: 1_700_000_000_000 };
  expect(decodeWatchToken(encodeWatchToken(t), "clusters")).toEqual(t);
  expect(snapshotXmax(t.snapshot)).toBe(752n);
  for (const bad of [encodeWatchToken(t).slice(0, -3), "%%%", Buffer.from('{"k":"clusters","s":"3:3:","t":-1}').toString("base64url"), "a".repeat(5000)]) {
    expect(() => decodeWatchToken(bad, "clusters")).toThrow(InvalidArgumentError);
  }
  try {
    decodeWatchToken(encodeWatchToken(t), "nodepools");
    throw new Error("accepted");
  } catch (err) {
    expect((err as InvalidArgumentError).violations[0].field).toBe("resume_token");
  }
});

test.each([
  ["just issued", 0, false],
  ["retention less the margin", CHANGE_RETENTION_MS - 60_000, false],
  ["past it", CHANGE_RETENTION_MS - 59_000, true],
  ["issued two minutes in the future (a bad clock)", -120_000, true],
])("a token %s: expired %s", (_name, ageMs, expired) => {
  const now = 1_800_000_000_000;
  expect(tokenExpired({ kind: "clusters", snapshot: "3:3:", issuedMs: now - ageMs }, now)).toBe(expired);
});
