/**
 * A watch stream that ends its call and resumes from its token every so often, so that a client
 * never holds more than about `recycleAfter` messages of one call.
 *
 * Why: @connectrpc/connect 2.3.0's client (protocol/run-call.js) races every read of a streaming
 * response against a promise that settles only when the call ends, and Promise.race leaves each
 * read's result reachable from that promise (nodejs/node#17469): one call retains every message it
 * has received. In a 10,000-cluster convergence the Sentinel's watch took its heap past the 192 MB
 * budget in 145 s (heap snapshot: ~45,000 WatchClustersResponse messages held by promise reactions),
 * it crashed, and its restart republished the fleet. 2.2.0 did not race.
 *
 * A stream is ended only right after a message whose token advanced (the end of a round of the
 * API's change feed, or a heartbeat): resuming from that token repeats and misses nothing. Within
 * a round every message carries the round's starting token, so ending mid-round would replay it.
 *
 * Exit plan: services/shared/recycled-watch.test.ts checks that connect-es still retains messages;
 * when it stops doing so that test fails, and this wrapper can go.
 */

/** Messages after which a watch call is ended at the next round boundary and resumed. */
export const WATCH_RECYCLE_AFTER = 1_000;

/**
 * Yields what `open(token)` streams, opening it again from the latest token once a call has
 * delivered `recycleAfter` messages and a message advanced the token. Ends when a call ends by itself
 * (the caller's reconnect logic decides what follows); errors propagate.
 */
export async function* recycledWatch<M extends { resumeToken: string }>(
  open: (resumeToken: string) => AsyncIterable<M>,
  resumeToken: string,
  recycleAfter = WATCH_RECYCLE_AFTER,
): AsyncGenerator<M> {
  let token = resumeToken;
  for (;;) {
    let received = 0;
    let recycle = false;
    for await (const m of open(token)) {
      received++;
      const advanced = m.resumeToken !== "" && m.resumeToken !== token;
      if (m.resumeToken) token = m.resumeToken;
      yield m;
      if (advanced && received >= recycleAfter) {
        recycle = true;
        // Leaving the loop ends the call (the iterator's return aborts it), which frees what it held.
        break;
      }
    }
    if (!recycle) return;
  }
}
