/**
 * walkPages over an in-memory API (injected, not mocked) that fails the way a real one can: a page
 * holding a row it cannot render, a page too large for the client, or the API gone. sentinel.test.ts
 * runs the same walk against the real API.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { bigIntToUuid, MAX_UUID, NIL_UUID } from "./core/locate-unlistable.js";
import type { DueResource, ResourceLister } from "./resource-lister.js";
import { MAX_SKIPS_PER_POLL, walkPages } from "./walk-pages.js";

const ids = (n: number) => Array.from({ length: n }, (_, i) => bigIntToUuid(0x0190aaaa000070008000000000000000n + BigInt(i) * 7919n));

interface FakeApi {
  /** Rows whose page fails (Internal), as a row the API cannot render does. */
  bad?: number[];
  /** Pages of more rows than this fail (ResourceExhausted), as pages over a client's receive limit do. */
  maxRows?: number;
  /** Every call fails Unavailable. */
  down?: boolean;
}

/** The API's keyset listing of `all`, honouring `id > '…'` and `id <= '…'` in the filter; the page token is the last id. */
function fakeLister(all: string[], api: FakeApi): ResourceLister & { calls: number } {
  const bad = new Set((api.bad ?? []).map((i) => all[i]));
  const lister = {
    calls: 0,
    async listPage(filter: string, pageToken: string, pageSize: number) {
      lister.calls++;
      if (api.down) throw new ConnectError("connect ECONNREFUSED", Code.Unavailable);
      const gt = /id > '([^']+)'/.exec(filter)?.[1] ?? NIL_UUID;
      const le = /id <= '([^']+)'/.exec(filter)?.[1] ?? MAX_UUID;
      const after = pageToken > gt ? pageToken : gt;
      const matches = all.filter((id) => id > after && id <= le);
      const rows = matches.slice(0, pageSize);
      if (rows.some((id) => bad.has(id))) throw new ConnectError("internal error", Code.Internal);
      if (api.maxRows !== undefined && rows.length > api.maxRows) throw new ConnectError("message is larger than configured readMaxBytes", Code.ResourceExhausted);
      const resources = rows.map((id): DueResource => ({ generation: 1, observedGeneration: 0, phase: "NotReady", lastUpdatedTime: new Date(0), ref: { id, kind: "Cluster", href: `/c/${id}`, generation: 1 } }));
      return { resources, unreadable: [], lastId: rows.at(-1), nextPageToken: matches.length > pageSize ? rows.at(-1)! : "" };
    },
    get: () => Promise.reject(new Error("not used")),
  };
  return lister;
}

async function walk(n: number, api: FakeApi, pageSize = 10) {
  const all = ids(n);
  const lister = fakeLister(all, api);
  const listed: string[] = [];
  const unlistable: string[] = [];
  let failures = 0;
  const result = await walkPages(lister, "labels.run = 'x'", pageSize, {
    page: async (p) => void listed.push(...p.resources.map((r) => r.ref.id)),
    listFailed: () => void failures++,
    unlistable: (id) => void unlistable.push(id),
  });
  const at = (list: string[]) => list.map((id) => all.indexOf(id));
  return { result, listed: at(listed), unlistable: at(unlistable), failures, calls: lister.calls };
}

const range = (from: number, to: number, except: number[] = []) => Array.from({ length: to - from }, (_, i) => from + i).filter((i) => !except.includes(i));

test.each([
  ["every page lists: every row once, in order", 35, {}, range(0, 35), []],
  ["pages over 3 rows fail: smaller pages reach every row", 35, { maxRows: 3 }, range(0, 35), []],
  ["one row cannot be listed: every other row, and that one reported", 35, { bad: [17] }, range(0, 35, [17]), [17]],
  ["the very first row", 12, { bad: [0] }, range(1, 12), [0]],
  ["the very last row", 12, { bad: [11] }, range(0, 11), [11]],
  ["neighbours, and with small pages too", 30, { bad: [9, 10, 25], maxRows: 4 }, range(0, 30, [9, 10, 25]), [9, 10, 25]],
] as [string, number, FakeApi, number[], number[]][])("%s", async (_rule, n, api, listed, unlistable) => {
  const out = await walk(n, api);
  expect(out.result).toEqual({ complete: true });
  expect(out.listed).toEqual(listed);
  expect(out.unlistable).toEqual(unlistable);
});

test("the API away: the walk stops (the next poll retries) without stepping over anything", async () => {
  const out = await walk(35, { down: true });
  expect(out.result.complete).toBe(false);
  expect(out.unlistable).toEqual([]);
  // Unavailable ends it at the first call: a smaller page cannot bring the API back.
  expect(out.calls).toBe(1);
});

test(`more than ${MAX_SKIPS_PER_POLL} unlistable rows: the walk steps over that many, then leaves the rest to the next poll`, async () => {
  const bad = range(0, MAX_SKIPS_PER_POLL + 2);
  const out = await walk(MAX_SKIPS_PER_POLL + 5, { bad });
  expect(out.result.complete).toBe(false);
  expect(out.unlistable).toEqual(range(0, MAX_SKIPS_PER_POLL));
});
