import { Code, ConnectError } from "@connectrpc/connect";
import { WatchEventType } from "../../gen/hyperfleet/v1/watch_pb.js";
import { pino } from "pino";
import { eventually } from "../../test/support/brokers.js";
import type { Poller } from "./poll-loop.js";
import type { ResourceLister, WatchItem } from "./resource-lister.js";
import { WATCH_REFUSED_RETRY_MS, createWatchLoop } from "./watch-loop.js";

/** A watch loop over an API whose watch fails as `fail` says (attempt number → error, or undefined to stream). */
function loopOver(fail: (attempt: number) => Error | undefined) {
  let attempts = 0;
  const errors: string[] = [];
  const lister: ResourceLister = {
    listPage: () => Promise.reject(new Error("not used")),
    get: () => Promise.reject(new Error("not used")),
    async *watch(_filter, _token, signal): AsyncGenerator<WatchItem> {
      const err = fail(++attempts);
      if (err) throw err;
      yield { type: WatchEventType.SYNCED, resumeToken: `t${attempts}` };
      await new Promise((r) => signal.addEventListener("abort", r));
    },
  };
  // What it logs at error level.
  const log = pino({ level: "error" }, { write: (line: string) => void errors.push(line) });
  const loop = createWatchLoop({ lister, poller: { changed: async () => false } as unknown as Poller, selector: [], log });
  return { loop, errors, attempts: () => attempts };
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((s) => s()));
});

test("an API that refuses the watch (older: Unimplemented) is asked again in minutes, not seconds, and said once as an error", async () => {
  const { loop, errors, attempts } = loopOver(() => new ConnectError("WatchClusters is not implemented", Code.Unimplemented));
  loop.start();
  stops.push(() => loop.stop());
  await eventually(() => loop.stats().retryInMs);
  expect(loop.stats()).toMatchObject({ live: false, retryInMs: WATCH_REFUSED_RETRY_MS, refused: expect.stringMatching(/^Unimplemented/) });
  expect(attempts()).toBe(1);
  expect(errors).toHaveLength(1);
});

test.each([
  ["PermissionDenied (a role without read)", new ConnectError("no", Code.PermissionDenied), WATCH_REFUSED_RETRY_MS],
  ["Unavailable (the API restarting)", new ConnectError("down", Code.Unavailable), 250],
])("the retry after %s", async (_what, err, retryMs) => {
  const { loop } = loopOver(() => err);
  loop.start();
  stops.push(() => loop.stop());
  expect(await eventually(() => loop.stats().retryInMs)).toBe(retryMs);
});

test("a stream that opens clears the refusal", async () => {
  const { loop } = loopOver((n) => (n === 1 ? new ConnectError("down", Code.Unavailable) : undefined));
  loop.start();
  stops.push(() => loop.stop());
  await eventually(() => (loop.stats().live ? true : undefined));
  expect(loop.stats().refused).toBeUndefined();
});
