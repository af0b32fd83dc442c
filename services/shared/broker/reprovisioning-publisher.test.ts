/** The publisher's decisions against a scripted broker; the real brokers are in resubscribe.test.ts. */
import { MissingError, type Topology } from "./broker.js";
import { createReprovisioningPublisher } from "./reprovisioning-publisher.js";

const topology: Topology = { topics: [{ name: "t", subscriptions: [] }] };
const msg = { data: Buffer.from("x") };

/** A broker whose topic exists once provisioned, until `lose()`. */
function scriptedBroker() {
  let exists = true;
  let provisions = 0;
  let provisionError: Error | undefined;
  return {
    lose: () => void (exists = false),
    failProvisioning: (e: Error | undefined) => void (provisionError = e),
    provisions: () => provisions,
    /** Holds provisioning until the returned function is called. */
    broker: {
      async publish(topic: string) {
        if (!exists) throw new MissingError(`topic ${topic} does not exist`);
        return "id";
      },
      async provision() {
        provisions++;
        await Promise.resolve();
        if (provisionError) throw provisionError;
        exists = true;
      },
    },
  };
}

test("a topic that exists: published, nothing provisioned", async () => {
  const b = scriptedBroker();
  expect(await createReprovisioningPublisher(b.broker, topology).publish("t", msg)).toBe("id");
  expect(b.provisions()).toBe(0);
});

test("a missing topic: provisioned once, published again, reported", async () => {
  const b = scriptedBroker();
  const seen: unknown[] = [];
  const p = createReprovisioningPublisher(b.broker, topology, { reprovisioned: (err) => seen.push(err) });
  b.lose();
  expect(await p.publish("t", msg)).toBe("id");
  expect(b.provisions()).toBe(1);
  expect(seen).toEqual([undefined]);
});

test("a burst of publishes that all find the topic missing shares one provisioning", async () => {
  const b = scriptedBroker();
  const p = createReprovisioningPublisher(b.broker, topology);
  b.lose();
  expect(await Promise.all(Array.from({ length: 20 }, () => p.publish("t", msg)))).toEqual(Array(20).fill("id"));
  expect(b.provisions()).toBe(1);
});

test("provisioning fails: the publish fails with its error, reported; the next publish tries again", async () => {
  const b = scriptedBroker();
  const seen: unknown[] = [];
  const p = createReprovisioningPublisher(b.broker, topology, { reprovisioned: (err) => seen.push(err) });
  b.lose();
  b.failProvisioning(new Error("PERMISSION_DENIED"));
  await expect(p.publish("t", msg)).rejects.toThrow("PERMISSION_DENIED");
  b.failProvisioning(undefined);
  expect(await p.publish("t", msg)).toBe("id");
  expect(b.provisions()).toBe(2);
  expect(seen).toEqual([expect.objectContaining({ message: "PERMISSION_DENIED" }), undefined]);
});

test("other errors (the broker is unreachable) are not provisioning's business", async () => {
  const b = scriptedBroker();
  const p = createReprovisioningPublisher({ ...b.broker, publish: async () => Promise.reject(new Error("14 UNAVAILABLE")) }, topology);
  await expect(p.publish("t", msg)).rejects.toThrow("14 UNAVAILABLE");
  expect(b.provisions()).toBe(0);
});
