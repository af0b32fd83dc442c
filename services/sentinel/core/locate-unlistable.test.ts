import { bigIntToUuid, locateUnlistable, MAX_UUID, NIL_UUID, uuidToBigInt, type Probe } from "./locate-unlistable.js";

const id = (n: bigint) => bigIntToUuid(n);
const A = id(0x0190aaaa00007000800000000000000an);
const B = id(0x0190aaaa00007000800000000000000bn);
const C = id(0x0190bbbb000070008000000000000001n);
const D = id(0x0190bbbb000070008000000000000002n);

/** The API as the probes see it: the first of `ids` in (after, upTo] lists unless it is in `bad`; `changes` runs before each probe. */
function fakeProbe(ids: string[], bad: Set<string>, changes?: (probeNo: number) => void): Probe & { calls: number } {
  const probe = async (after: string, upTo: string) => {
    probe.calls++;
    changes?.(probe.calls);
    const first = [...ids].sort().find((x) => x > after && x <= upTo);
    if (first === undefined) return { kind: "empty" as const };
    return bad.has(first) ? { kind: "fails" as const } : { kind: "found" as const };
  };
  probe.calls = 0;
  return probe;
}

test("uuid ↔ number round-trips, and numbers order as Postgres orders uuids", () => {
  for (const u of [NIL_UUID, A, C, MAX_UUID]) expect(bigIntToUuid(uuidToBigInt(u))).toBe(u);
  expect(uuidToBigInt(A) < uuidToBigInt(B) && uuidToBigInt(B) < uuidToBigInt(C)).toBe(true);
  expect(A < B && B < C).toBe(true);
});

test.each([
  ["the very first row fails: found from the start of the listing", [A, B, C], [A], NIL_UUID, { kind: "located", id: A }],
  ["a row in the middle: found after the last row listed", [A, B, C, D], [C], B, { kind: "located", id: C }],
  ["neighbouring ids: the row, not its neighbour", [A, B, C], [B], A, { kind: "located", id: B }],
  ["two bad rows: the first after `after`", [A, B, C, D], [B, D], A, { kind: "located", id: B }],
  ["the largest possible id", [A, MAX_UUID], [MAX_UUID], A, { kind: "located", id: MAX_UUID }],
  ["nothing fails any more (fixed meanwhile): list again from where the walk was", [A, B, C], [], A, { kind: "resume", after: A }],
])("%s", async (_rule, ids, bad, after, expected) => {
  const probe = fakeProbe(ids, new Set(bad));
  const out = await locateUnlistable(after, probe);
  expect(out).toMatchObject(expected);
  // Bounded: the guard, one probe per bit of a UUID, and one last look.
  expect(out.probes).toBe(probe.calls);
  expect(probe.calls).toBeLessThanOrEqual(130);
});

test("a failure that is no row's (an empty range fails too) skips nothing, after one probe", async () => {
  const probe: Probe = async () => ({ kind: "fails" });
  expect(await locateUnlistable(A, probe)).toEqual({ kind: "not-a-row", probes: 1 });
});

test("the row is fixed mid-search: the search stops and the walk lists again from a point with nothing before it", async () => {
  const bad = new Set([C]);
  const probe = fakeProbe([A, C, D], bad, (n) => n === 20 && bad.clear());
  const out = await locateUnlistable(A, probe);
  expect(out.kind).toBe("resume");
  // Resuming there neither repeats A nor passes C.
  const after = (out as { after: string }).after;
  expect(after >= A && after < C).toBe(true);
});

test("the row is removed mid-search: the walk resumes past where it was", async () => {
  const ids = [A, C, D];
  const probe = fakeProbe(ids, new Set([C]), (n) => n === 3 && ids.splice(1, 1));
  const out = await locateUnlistable(A, probe);
  expect(out.kind).toBe("resume");
  const after = (out as { after: string }).after;
  expect(after >= A && after < D).toBe(true);
});
