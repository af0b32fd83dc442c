import amqp from "amqplib";
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from "amqplib";
import { randomUUID } from "node:crypto";
import { MissingError, withTimeout, type Broker, type Consumer, type MessageHandler, type Topology } from "./broker.js";
import { rabbitMissing } from "./faults.js";
import { superviseConsumer, type Attachment, type ConsumerBackend } from "./supervise-consumer.js";

export interface RabbitOptions {
  url: string;
  /** Bound on connecting, publishing and declaring. */
  timeoutMs?: number;
  /** Shown by RabbitMQ (management UI, rabbitmqctl list_connections) as the connection's name. */
  connectionName?: string;
  onError?: (err: unknown, context: string) => void;
}

const noop = () => undefined;

/**
 * RabbitMQ behind the Broker interface: a fanout exchange per topic, a quorum queue per subscription
 * (x-delivery-limit gives "dead-letter after N attempts"), and a `<subscription>-dlq` exchange+queue.
 * Connections are re-established on demand, so a restarted RabbitMQ is picked up by the next call, and
 * consumers attach again by themselves (supervise-consumer.ts).
 */
export function createRabbitBroker(opts: RabbitOptions): Broker {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const onError = opts.onError ?? (() => undefined);
  let conn: Promise<ChannelModel> | undefined;
  /** Why the last connection closed, to name it when its channels close. */
  let connectionLost: unknown;
  /** The confirm channel publishes go through, and the error the server closed it with. */
  let pubChannel: Promise<{ ch: ConfirmChannel; closedWith?: unknown }> | undefined;
  const consumers = new Set<Consumer>();

  const connection = () => {
    if (!conn) {
      const clientProperties = opts.connectionName ? { connection_name: opts.connectionName } : {};
      const c = withTimeout(amqp.connect(opts.url, { timeout: timeoutMs, clientProperties }), timeoutMs, "connect to RabbitMQ");
      conn = c;
      c.then(
        (m) => {
          connectionLost = undefined;
          m.on("close", (err?: unknown) => {
            connectionLost = err ?? new Error("the connection to RabbitMQ closed");
            if (conn === c) conn = undefined;
            pubChannel = undefined;
          });
          m.on("error", (err) => onError(err, "connection"));
        },
        () => {
          if (conn === c) conn = undefined;
        },
      );
    }
    return conn;
  };

  const publishChannel = () => {
    if (!pubChannel) {
      const p = connection().then(async (m) => ({ ch: await m.createConfirmChannel() }) as { ch: ConfirmChannel; closedWith?: unknown });
      pubChannel = p;
      p.then(
        (pc) => {
          pc.ch.on("close", () => { if (pubChannel === p) pubChannel = undefined; });
          // Emitted before "close" fails the unconfirmed publishes, so they can tell a missing exchange.
          pc.ch.on("error", (err) => {
            pc.closedWith = err;
            if (!rabbitMissing(err)) onError(err, "publish channel");
          });
        },
        () => { if (pubChannel === p) pubChannel = undefined; },
      );
    }
    return pubChannel;
  };

  const asMissing = (err: unknown, what: string) => (rabbitMissing(err) ? new MissingError(`${what} does not exist`, { cause: err }) : err);

  /** Resolves when the queue exists; MissingError when it does not. A channel of its own, since a 404 closes it. */
  const check = async (name: string) => {
    const ch = await (await connection()).createChannel();
    ch.on("error", noop);
    try {
      await ch.checkQueue(name);
    } catch (err) {
      throw asMissing(err, `queue ${name}`);
    } finally {
      await ch.close().catch(noop);
    }
  };

  /** A consumer on its own channel, at most `maxInFlight` unacked messages (basic.qos prefetch). */
  const attach = async (name: string, maxInFlight: number, run: MessageHandler, lost: (err: unknown) => void): Promise<Attachment> => {
    const ch = await (await connection()).createChannel();
    let stopped = false;
    let closedWith: unknown;
    ch.on("error", (err) => (closedWith = err));
    ch.on("close", () => {
      if (stopped) return;
      // The connection's own "close" comes after its channels'; wait for it to name the cause.
      setImmediate(() => lost(closedWith !== undefined ? asMissing(closedWith, `queue ${name}`) : (connectionLost ?? new Error(`the channel consuming ${name} closed`))));
    });
    let consumerTag: string;
    try {
      await ch.prefetch(maxInFlight);
      ({ consumerTag } = await ch.consume(name, (m: ConsumeMessage | null) => {
        // null: the server cancelled the consumer, as it does when the queue is deleted.
        if (!m) return lost(new MissingError(`queue ${name} was deleted (the broker cancelled the consumer)`));
        if (stopped) return void Promise.resolve().then(() => ch.nack(m, false, true)).catch(noop);
        const attempt = Number(m.properties.headers?.["x-delivery-count"] ?? 0) + 1;
        const attributes = Object.fromEntries(Object.entries(m.properties.headers ?? {}).filter(([k]) => !k.startsWith("x-")).map(([k, v]) => [k, String(v)]));
        run({ id: String(m.properties.messageId ?? m.fields.deliveryTag), data: m.content, attributes, deliveryAttempt: attempt })
          .then((verdict) => (verdict === "ack" ? ch.ack(m) : ch.nack(m, false, true)))
          .catch(() => ch.nack(m, false, true))
          // The channel is gone: RabbitMQ requeues what it had not acked.
          .catch(noop);
      }));
    } catch (err) {
      stopped = true;
      await ch.close().catch(noop);
      throw asMissing(err, `queue ${name}`);
    }
    return {
      async stop() {
        stopped = true;
        await ch.cancel(consumerTag).catch(noop);
      },
      async close() {
        stopped = true;
        await ch.close().catch(noop);
      },
    };
  };

  return {
    async provision(topology: Topology) {
      const ch = await withTimeout((await connection()).createChannel(), timeoutMs, "open channel");
      try {
        for (const t of topology.topics) {
          await ch.assertExchange(t.name, "fanout", { durable: true });
          for (const s of t.subscriptions) {
            await ch.assertExchange(s.deadLetterTopic, "fanout", { durable: true });
            await ch.assertQueue(s.deadLetterTopic, { durable: true });
            await ch.bindQueue(s.deadLetterTopic, s.deadLetterTopic, "");
            await ch.assertQueue(s.name, {
              durable: true,
              arguments: {
                "x-queue-type": "quorum",
                // Delivered once plus (limit) redeliveries: dead-lettered on the Nth failed attempt.
                "x-delivery-limit": s.maxDeliveryAttempts - 1,
                "x-dead-letter-exchange": s.deadLetterTopic,
              },
            });
            await ch.bindQueue(s.name, t.name, "");
          }
        }
      } finally {
        await ch.close().catch(() => undefined);
      }
    },

    async publish(topic, message) {
      const pc = await withTimeout(publishChannel(), timeoutMs, "open publish channel");
      const messageId = randomUUID();
      // A missing exchange closes the channel (404), which fails every publish waiting on it, and
      // makes publishing on it throw until the next publish opens another.
      const failed = (err: unknown) => asMissing(pc.closedWith ?? err, `exchange ${topic}`);
      const sent = new Promise<string>((resolve, reject) => {
        try {
          pc.ch.publish(topic, "", message.data, { persistent: true, messageId, contentType: message.attributes?.["content-type"], headers: message.attributes }, (err) =>
            err ? reject(failed(err)) : resolve(messageId),
          );
        } catch (err) {
          reject(failed(err));
        }
      });
      return withTimeout(sent, timeoutMs, `publish to ${topic}`);
    },

    async subscribe(name, handler, options = {}) {
      const backend: ConsumerBackend = { attach: (run, lost) => attach(name, options.maxInFlight ?? 10, run, lost), check: () => check(name) };
      const consumer = await superviseConsumer(backend, handler, { ...options, name, timeoutMs, onError });
      const tracked: Consumer = {
        state: () => consumer.state(),
        async close() {
          await consumer.close();
          consumers.delete(tracked);
        },
      };
      consumers.add(tracked);
      return tracked;
    },

    async close() {
      await Promise.all([...consumers].map((c) => c.close()));
      const c = conn;
      conn = undefined;
      if (c) await (await c.catch(() => undefined))?.close().catch(() => undefined);
    },
  };
}
