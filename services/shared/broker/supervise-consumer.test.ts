/** The supervisor against a scripted backend: what it does on each fault, without a broker's timing. */
import { MissingError, type ConsumerState, type IncomingMessage, type MessageHandler, type Verdict } from "./broker.js";
import { superviseConsumer, type Attachment, type ConsumerBackend } from "./supervise-consumer.js";
import { eventually } from "../../../test/support/brokers.js";

/** A backend whose attaches, losses and check answers the test decides. */
function scriptedBackend() {
  const attachments: { run: MessageHandler; lost: (err: unknown) => void; stopped: boolean; closed: boolean; inFlightAtStart: number }[] = [];
  const attachErrors: unknown[] = [];
  let checkError: unknown;
  let inFlight = 0;
  const backend: ConsumerBackend = {
    async attach(run, lost) {
      // A broker that fails checks refuses attaches too.
      if (checkError !== undefined) throw checkError;
      const err = attachErrors.shift();
      if (err !== undefined) throw err;
      const a = { run, lost, stopped: false, closed: false, inFlightAtStart: inFlight };
      attachments.push(a);
      const att: Attachment = {
        stop: async () => void (a.stopped = true),
        close: async () => void (a.closed = true),
      };
      return att;
    },
    async check() {
      if (checkError !== undefined) throw checkError;
    },
  };
  /** Hands a message to the newest attachment's handler; resolves with its verdict. */
  const deliver = async (id: string): Promise<Verdict> => {
    inFlight++;
    try {
      return await attachments.at(-1)!.run({ id, data: Buffer.from(id), attributes: {}, deliveryAttempt: 1 } satisfies IncomingMessage);
    } finally {
      inFlight--;
    }
  };
  return {
    backend,
    attachments,
    deliver,
    failNextAttaches: (...errs: unknown[]) => attachErrors.push(...errs),
    setCheckError: (e: unknown) => (checkError = e),
  };
}

const FAST = { name: "hf-clusters-dns", timeoutMs: 1000, retry: { initialMs: 1, maxMs: 5 }, checkEveryMs: 10, onError: () => undefined, random: () => 0.5 };
const ack: MessageHandler = async () => "ack";

test("lost (the subscription was deleted): not consuming with the reason, re-provisioned, attached again", async () => {
  const b = scriptedBackend();
  const states: ConsumerState[] = [];
  let ensured = 0;
  const c = await superviseConsumer(b.backend, ack, { ...FAST, ensure: async () => void ensured++, onState: (s) => states.push(s) });
  expect(c.state()).toMatchObject({ consuming: true, reason: "", resubscribes: 0 });
  b.attachments[0].lost(new MissingError("subscription hf-clusters-dns does not exist"));
  await eventually(() => (c.state().resubscribes === 1 ? true : undefined));
  expect(ensured).toBe(1);
  expect(b.attachments).toHaveLength(2);
  expect(b.attachments[0]).toMatchObject({ stopped: true, closed: true });
  expect(states.map((s) => [s.consuming, s.fault, s.reason])).toEqual([
    [true, undefined, ""],
    [false, "missing", "subscription hf-clusters-dns does not exist"],
    [true, undefined, ""],
  ]);
  expect(await b.deliver("m1")).toBe("ack");
  await c.close();
});

test("a failed check trips it like a loss: the broker is unreachable until it answers again", async () => {
  const b = scriptedBackend();
  let ensured = 0;
  const c = await superviseConsumer(b.backend, ack, { ...FAST, ensure: async () => void ensured++ });
  b.setCheckError(new Error("14 UNAVAILABLE: No connection established"));
  await eventually(() => (c.state().consuming ? undefined : true));
  expect(c.state()).toMatchObject({ fault: "unavailable", reason: "14 UNAVAILABLE: No connection established" });
  // It keeps trying while the broker is away.
  await eventually(() => (ensured >= 3 ? true : undefined));
  expect(b.attachments).toHaveLength(1);
  b.setCheckError(undefined);
  await eventually(() => (c.state().consuming ? true : undefined));
  expect(c.state().resubscribes).toBe(1);
  expect(b.attachments).toHaveLength(2);
  await c.close();
});

test("while attaching keeps failing, the state carries the latest error, and `since` stays when it went down", async () => {
  const b = scriptedBackend();
  const states: ConsumerState[] = [];
  let t = 0;
  const c = await superviseConsumer(b.backend, ack, { ...FAST, now: () => new Date(++t * 1000), onState: (s) => states.push(s) });
  b.failNextAttaches(new MissingError("queue q does not exist"), new Error("connect ECONNREFUSED"));
  b.attachments[0].lost(new Error("the connection to RabbitMQ closed"));
  await eventually(() => (c.state().resubscribes === 1 ? true : undefined));
  expect(states.map((s) => [s.consuming, s.fault, s.reason])).toEqual([
    [true, undefined, ""],
    [false, "unavailable", "the connection to RabbitMQ closed"],
    [false, "missing", "queue q does not exist"],
    [false, "unavailable", "connect ECONNREFUSED"],
    [true, undefined, ""],
  ]);
  expect(states[2].since).toEqual(states[1].since);
  expect(states[3].since).toEqual(states[1].since);
  expect(states[4].since.getTime()).toBeGreaterThan(states[1].since.getTime());
  await c.close();
});

test("handlers of the lost attachment finish before the next attach: the bound holds across reattachments", async () => {
  const b = scriptedBackend();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const c = await superviseConsumer(b.backend, async () => (await gate, "ack"), FAST);
  const verdict = b.deliver("slow");
  b.attachments[0].lost(new Error("channel closed"));
  await eventually(() => (c.state().consuming ? undefined : true));
  // Stopped, but neither closed nor replaced while its handler runs.
  await new Promise((r) => setTimeout(r, 50));
  expect(b.attachments).toHaveLength(1);
  expect(b.attachments[0]).toMatchObject({ stopped: true, closed: false });
  release();
  expect(await verdict).toBe("ack");
  await eventually(() => (c.state().consuming ? true : undefined));
  expect(b.attachments[1].inFlightAtStart).toBe(0);
  await c.close();
});

test("close during backoff returns at once and leaves nothing attached", async () => {
  const b = scriptedBackend();
  const c = await superviseConsumer(b.backend, ack, { ...FAST, retry: { initialMs: 60_000, maxMs: 60_000 } });
  b.attachments[0].lost(new Error("gone"));
  await eventually(() => (c.state().consuming ? undefined : true));
  const started = Date.now();
  await c.close();
  expect(Date.now() - started).toBeLessThan(5000);
  expect(b.attachments).toHaveLength(1);
  expect(c.state()).toMatchObject({ consuming: false, reason: "closed", fault: undefined });
});

test("close while consuming stops, waits for the handler in flight, then closes", async () => {
  const b = scriptedBackend();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const c = await superviseConsumer(b.backend, async () => (await gate, "ack"), FAST);
  const verdict = b.deliver("m");
  let closed = false;
  const closing = c.close().then(() => (closed = true));
  await eventually(() => (b.attachments[0].stopped ? true : undefined));
  expect(closed).toBe(false);
  expect(b.attachments[0].closed).toBe(false);
  release();
  await closing;
  expect(await verdict).toBe("ack");
  expect(b.attachments[0].closed).toBe(true);
});

test("the first attach failing rejects subscribe: nothing keeps retrying behind the caller's back", async () => {
  const b = scriptedBackend();
  b.failNextAttaches(new MissingError("subscription s does not exist"));
  await expect(superviseConsumer(b.backend, ack, FAST)).rejects.toThrow("subscription s does not exist");
  await new Promise((r) => setTimeout(r, 50));
  expect(b.attachments).toHaveLength(0);
});

test("an attach that answers after its timeout is let go, not left consuming", async () => {
  const b = scriptedBackend();
  const c = await superviseConsumer(b.backend, ack, FAST);
  const late: { stopped: boolean; closed: boolean } = { stopped: false, closed: false };
  let answer!: (a: Attachment) => void;
  const original = b.backend.attach;
  let slowOnce = true;
  b.backend.attach = (run, lost) => {
    if (!slowOnce) return original(run, lost);
    slowOnce = false;
    return new Promise<Attachment>((r) => (answer = r));
  };
  const c2 = superviseConsumer(b.backend, ack, { ...FAST, timeoutMs: 20 });
  await expect(c2).rejects.toThrow(/timed out/);
  answer({ stop: async () => void (late.stopped = true), close: async () => void (late.closed = true) });
  await eventually(() => (late.closed ? true : undefined));
  expect(late.stopped).toBe(true);
  await c.close();
});
