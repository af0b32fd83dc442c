/**
 * Broker faults against a broker of the test's own (test/support/broker-faults.ts): a private Pub/Sub
 * emulator stopped and started again empty, RabbitMQ behind a proxy that cuts every connection, queues
 * and topics deleted behind the clients' backs. The consumer says it is not consuming and why, provisions
 * what it owns again, resubscribes and takes new messages; the publisher provisions its missing topic.
 */
import { createBroker, createReprovisioningPublisher, topicName, topicTopology, subscriptionName, type Broker, type Consumer, type ConsumerState, type IncomingMessage, type Publisher, type Topology } from "./index.js";
import { startBrokerFaults, type BrokerFaults } from "../../../test/support/broker-faults.js";
import { eventually, uniqueNamespace } from "../../../test/support/brokers.js";

/** Generous: only reached when something is broken (the emulator alone takes seconds to start). */
const WAIT_MS = 60_000;
/** Fast enough that each fault is seen and cured within seconds. */
const FAST = { retry: { initialMs: 100, maxMs: 1000 }, checkEveryMs: 250 };

describe.each(["pubsub", "rabbitmq"] as const)("%s: lost subscriptions and connections", (kind) => {
  let faults: BrokerFaults;
  let broker: Broker;
  let topology: Topology;
  let topic: string;
  let sub: string;
  let publisher: Publisher;
  let consumer: Consumer;
  let got: IncomingMessage[];
  let states: ConsumerState[];
  let reprovisions: number;

  beforeAll(async () => {
    faults = await startBrokerFaults(kind);
  }, WAIT_MS);
  afterAll(() => faults.close());

  beforeEach(async () => {
    const ns = uniqueNamespace();
    topic = topicName(ns, "clusters");
    sub = subscriptionName(topic, "dns");
    topology = topicTopology(topic, ["dns"]);
    broker = createBroker(faults.config, () => undefined, `resubscribe-${ns}`);
    await broker.provision(topology);
    got = [];
    states = [];
    reprovisions = 0;
    publisher = createReprovisioningPublisher(broker, topology, { reprovisioned: (err) => void (err === undefined && reprovisions++) });
    consumer = await broker.subscribe(sub, async (m) => (got.push(m), "ack"), { ...FAST, ensure: () => broker.provision(topology), onState: (s) => states.push(s) });
  }, WAIT_MS);
  afterEach(async () => {
    // A stopped broker must not leave the next test without one.
    await faults.start();
    await broker.close();
  }, WAIT_MS);

  /** Publishes `body` (retrying while the broker is away) and waits until the consumer has it. */
  const roundTrip = async (body: string) => {
    await eventually(() => publisher.publish(topic, { data: Buffer.from(body) }).then(() => true, () => undefined), WAIT_MS, 200);
    await eventually(() => (got.some((m) => m.data.toString() === body) ? true : undefined), WAIT_MS);
  };
  const notConsuming = () => eventually(() => (consumer.state().consuming ? undefined : consumer.state()), WAIT_MS);
  const consumingAgain = (resubscribes: number) => eventually(() => (consumer.state().consuming && consumer.state().resubscribes >= resubscribes ? consumer.state() : undefined), WAIT_MS);

  test("the subscription is deleted: not consuming (missing), re-created, consuming again", async () => {
    await roundTrip("before");
    expect(consumer.state()).toMatchObject({ consuming: true, reason: "", resubscribes: 0 });
    await faults.deleteSubscription(sub);
    const down = await notConsuming();
    expect(down.fault).toBe("missing");
    expect(down.reason).toContain(sub);
    await consumingAgain(1);
    await roundTrip("after");
    // Each change was reported as it happened.
    expect(states.some((s) => !s.consuming && s.fault === "missing")).toBe(true);
    expect(states.at(-1)).toMatchObject({ consuming: true, resubscribes: 1 });
  }, 3 * WAIT_MS);

  test("the broker goes away and comes back (the emulator empty): not consuming, then consuming again", async () => {
    await roundTrip("before");
    await faults.stop();
    const down = await notConsuming();
    expect(down.fault).toBe("unavailable");
    expect(down.reason).not.toBe("");
    await faults.start();
    await consumingAgain(1);
    await roundTrip("after");
  }, 3 * WAIT_MS);

  test("the topic is deleted: the publisher provisions it again, and the consumer gets what it publishes", async () => {
    await roundTrip("before");
    await faults.deleteTopic(topic);
    // Pub/Sub detaches the subscription from a deleted topic, RabbitMQ drops the exchange's bindings:
    // either way provisioning must give the subscription a working topic again.
    await roundTrip("after");
    expect(reprovisions).toBeGreaterThanOrEqual(1);
  }, 3 * WAIT_MS);

  if (kind === "rabbitmq") {
    test("the server closes the connection (rabbitmqctl close_connection): consuming again", async () => {
      await roundTrip("before");
      const name = `resubscribe-forced-${uniqueNamespace()}`;
      const named = createBroker(faults.config, () => undefined, name);
      const seen: string[] = [];
      const c = await named.subscribe(sub, async (m) => (seen.push(m.data.toString()), "ack"), FAST);
      try {
        await consumer.close();
        await faults.closeConnection!(name);
        await eventually(() => (c.state().resubscribes >= 1 && c.state().consuming ? true : undefined), WAIT_MS);
        await eventually(() => publisher.publish(topic, { data: Buffer.from("after") }).then(() => true, () => undefined), WAIT_MS, 200);
        await eventually(() => (seen.includes("after") ? true : undefined), WAIT_MS);
      } finally {
        await named.close();
      }
    }, 3 * WAIT_MS);
  }

  test("close while the broker is away: returns, and the state says closed", async () => {
    await faults.stop();
    await notConsuming();
    await consumer.close();
    expect(consumer.state()).toMatchObject({ consuming: false, reason: "closed" });
  }, 3 * WAIT_MS);
});
