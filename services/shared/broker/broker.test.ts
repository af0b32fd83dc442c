/** One conformance suite, run against the real Pub/Sub emulator and the real RabbitMQ. */
import { createBroker, buildTopology, topicName, subscriptionName, deadLetterName, type Broker, type IncomingMessage } from "./index.js";
import { TEST_BROKERS, eventually, uniqueNamespace } from "../../../test/support/brokers.js";

describe.each(TEST_BROKERS)("broker: %s", (_name, config) => {
  let broker: Broker;
  let ns: string;
  beforeEach(async () => {
    broker = createBroker(config);
    ns = uniqueNamespace();
    const topology = buildTopology(ns, { clusters: ["validation", "dns"] });
    await broker.provision(topology);
    await broker.provision(topology); // idempotent: a second run changes nothing and does not fail
  });
  afterEach(() => broker.close());

  test("fan-out: every subscription of the topic receives each message with its attributes", async () => {
    const got: Record<string, IncomingMessage[]> = { validation: [], dns: [] };
    for (const adapter of ["validation", "dns"]) {
      await broker.subscribe(subscriptionName(topicName(ns, "clusters"), adapter), async (m) => {
        got[adapter].push(m);
        return "ack";
      });
    }
    await broker.publish(topicName(ns, "clusters"), { data: Buffer.from('{"n":1}'), attributes: { "content-type": "application/cloudevents+json" } });
    await eventually(() => (got.validation.length && got.dns.length ? true : undefined));
    for (const adapter of ["validation", "dns"]) {
      expect(got[adapter]).toHaveLength(1);
      expect(got[adapter][0].data.toString()).toBe('{"n":1}');
      expect(got[adapter][0].attributes["content-type"]).toBe("application/cloudevents+json");
      expect(got[adapter][0].deliveryAttempt).toBe(1);
    }
  });

  test("a message nacked 5 times lands in <subscription>-dlq; attempts are counted", async () => {
    const sub = subscriptionName(topicName(ns, "clusters"), "validation");
    const attempts: number[] = [];
    await broker.subscribe(sub, async (m) => {
      attempts.push(m.deliveryAttempt);
      return "nack";
    });
    const dead: IncomingMessage[] = [];
    await broker.subscribe(deadLetterName(sub), async (m) => {
      dead.push(m);
      return "ack";
    });
    await broker.publish(topicName(ns, "clusters"), { data: Buffer.from("not a cloudevent") });
    await eventually(() => (dead.length > 0 ? true : undefined), 60_000, 100);
    expect(dead[0].data.toString()).toBe("not a cloudevent");
    expect(attempts.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
  }, 90_000);

  test("flow control: however many messages are queued, the handler holds at most maxInFlight at once", async () => {
    const n = 300;
    await Promise.all(Array.from({ length: n }, (_, i) => broker.publish(topicName(ns, "clusters"), { data: Buffer.from(String(i)) })));
    let running = 0;
    let most = 0;
    const seen = new Set<string>();
    const consumer = await broker.subscribe(
      subscriptionName(topicName(ns, "clusters"), "dns"),
      async (m) => {
        most = Math.max(most, ++running);
        // Long enough for deliveries to pile up behind the bound if the broker did not hold them back.
        await new Promise((r) => setTimeout(r, 2));
        seen.add(m.data.toString());
        running--;
        return "ack";
      },
      { maxInFlight: 3 },
    );
    await eventually(() => (seen.size === n ? true : undefined), 60_000, 100);
    expect(most).toBeLessThanOrEqual(3);
    expect(consumer.state()).toMatchObject({ consuming: true, resubscribes: 0 });
  }, 90_000);

  test("subscribing to a subscription that does not exist fails at once, naming it", async () => {
    const missing = subscriptionName(topicName(ns, "clusters"), "nobody");
    await expect(broker.subscribe(missing, async () => "ack")).rejects.toMatchObject({ name: "MissingError", message: expect.stringContaining(missing) });
  });

  test("publishing to a topic that does not exist fails with MissingError", async () => {
    await expect(broker.publish(topicName(uniqueNamespace(), "clusters"), { data: Buffer.from("x") })).rejects.toMatchObject({ name: "MissingError" });
  });

  test("close waits for the handler in flight before it returns", async () => {
    let finished = false;
    let started = false;
    // The handler runs until the test lets it finish, however long close has been waiting.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const consumer = await broker.subscribe(subscriptionName(topicName(ns, "clusters"), "dns"), async () => {
      started = true;
      await gate;
      finished = true;
      return "ack";
    });
    await broker.publish(topicName(ns, "clusters"), { data: Buffer.from("x") });
    await eventually(() => (started ? true : undefined));
    let closed = false;
    const closing = consumer.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    release();
    await closing;
    expect(finished).toBe(true);
  });
});
