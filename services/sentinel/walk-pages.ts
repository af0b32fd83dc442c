import { Code, ConnectError } from "@connectrpc/connect";
import { isUuid } from "../shared/ids.js";
import { locateUnlistable, NIL_UUID, type Probe } from "./core/locate-unlistable.js";
import type { ResourceLister, ResourcePage } from "./resource-lister.js";

/**
 * Errors that say the API (or its database) is away, overloaded or too slow right now, not that
 * anything is wrong with a page: neither a smaller page nor stepping over a row helps, and the next
 * poll retries the whole listing.
 */
const TRANSIENT = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Aborted, Code.Canceled]);

const isTransient = (err: unknown) => TRANSIENT.has(ConnectError.from(err).code);

/** Most resources one poll steps over; past them the rest of the listing waits for the next poll. */
export const MAX_SKIPS_PER_POLL = 16;

export interface WalkHooks {
  /** Handles one page; the walk lists the next once it resolves. */
  page(page: ResourcePage): Promise<void>;
  /** A list call failed (the walk then tries a smaller page, or steps over the row, when it can). */
  listFailed(err: unknown, pageSize: number): void;
  /** A resource the API cannot list, even alone: stepped over for this poll. */
  unlistable(id: string, err: unknown): void;
}

/** `filter` narrowed to ids in a range (ids are UUIDs this module made or checked: nothing to escape). */
const narrowed = (filter: string, range: string) => (filter.trim() === "" ? range : `(${filter}) and ${range}`);

/** Whether the listing reached its end; when not, the error that stopped it. */
export type WalkResult = { complete: true } | { complete: false; error: unknown };

/**
 * Lists every page of `filter`, so that no page or resource stops the rest of the fleet:
 * - a page that fails is asked for again with half as many rows, down to one (a page of large or
 *   slow rows, a client's receive limit); after a page that works the size doubles back;
 * - a single row that fails for a reason a retry would not cure is found by id and stepped over
 *   (core/locate-unlistable.ts), and the listing goes on after it with `id > '<that id>'` in the
 *   filter, since its page token would only lead back to the same row. The row is reported and
 *   listed again on the next poll.
 * A transient failure (the API or database away) ends the walk; the next poll starts it again.
 */
export async function walkPages(lister: ResourceLister, filter: string, pageSize: number, hooks: WalkHooks): Promise<WalkResult> {
  let size = pageSize;
  let scope = filter;
  let token = "";
  // Every match up to this id has been handled or stepped over.
  let after = NIL_UUID;
  let skips = 0;
  const probe: Probe = async (from, upTo) => {
    try {
      const p = await lister.listPage(narrowed(filter, `id > '${from}' and id <= '${upTo}'`), "", 1);
      return p.lastId === undefined ? { kind: "empty" } : { kind: "found" };
    } catch (err) {
      if (isTransient(err)) throw err;
      return { kind: "fails" };
    }
  };
  for (;;) {
    let page: ResourcePage;
    try {
      page = await lister.listPage(scope, token, size);
    } catch (err) {
      hooks.listFailed(err, size);
      // The API is not there: a smaller page would fail the same way (it once took 9 calls per poll).
      // A deadline is different: a smaller page may make it.
      if (ConnectError.from(err).code === Code.Unavailable) return { complete: false, error: err };
      if (size > 1) {
        size = Math.max(1, Math.floor(size / 2));
        continue;
      }
      if (isTransient(err) || skips >= MAX_SKIPS_PER_POLL) return { complete: false, error: err };
      skips++;
      let found;
      try {
        found = await locateUnlistable(after, probe);
      } catch (probeErr) {
        return { complete: false, error: probeErr };
      }
      if (found.kind === "not-a-row") return { complete: false, error: err };
      if (found.kind === "located") hooks.unlistable(found.id, err);
      after = found.kind === "located" ? found.id : found.after;
      scope = narrowed(filter, `id > '${after}'`);
      token = "";
      continue;
    }
    await hooks.page(page);
    // Ids go into the filter: only a UUID (as the API prints it) is taken.
    if (page.lastId !== undefined && isUuid(page.lastId)) after = page.lastId.toLowerCase();
    if (page.nextPageToken === "") return { complete: true };
    token = page.nextPageToken;
    size = Math.min(pageSize, size * 2);
  }
}
