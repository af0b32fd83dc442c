import amqp from "amqplib";
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from "amqplib";
import { randomUUID } from "node:crypto";
import { withTimeout, type Broker, type Consumer, type MessageHandler, type Topology } from "./broker.js";

export interface RabbitOptions {
  url: string;
  /** Bound on connecting, publishing and declaring. */
  timeoutMs?: number;
  onError?: (err: unknown, context: string) => void;
}

/**
 * RabbitMQ behind the Broker interface: a fanout exchange per topic, a quorum queue per subscription
 * (x-delivery-limit gives "dead-letter after N attempts"), and a `<subscription>-dlq` exchange+queue.
 * Connections are re-established on demand, so a restarted RabbitMQ is picked up by the next call.
 */
export function createRabbitBroker(opts: RabbitOptions): Broker {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const onError = opts.onError ?? (() => undefined);
  let conn: Promise<ChannelModel> | undefined;
  let pubChannel: Promise<ConfirmChannel> | undefined;
  let closing = false;
  const consumers = new Set<Consumer>();

  const connection = () => {
    if (!conn) {
      const c = withTimeout(amqp.connect(opts.url, { timeout: timeoutMs }), timeoutMs, "connect to RabbitMQ");
      conn = c;
      c.then(
        (m) => {
          const reset = () => {
            if (conn === c) conn = undefined;
            pubChannel = undefined;
          };
          m.on("close", reset);
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
      const p = connection().then((m) => m.createConfirmChannel());
      pubChannel = p;
      p.then(
        (ch) => {
          ch.on("close", () => { if (pubChannel === p) pubChannel = undefined; });
          ch.on("error", (err) => onError(err, "publish channel"));
        },
        () => { if (pubChannel === p) pubChannel = undefined; },
      );
    }
    return pubChannel;
  };

  const consume = async (name: string, handler: MessageHandler, maxInFlight: number, inFlight: Set<Promise<void>>) => {
    const ch = await (await connection()).createChannel();
    ch.on("error", (err) => onError(err, `consumer ${name}`));
    await ch.prefetch(maxInFlight);
    const { consumerTag } = await ch.consume(name, (m: ConsumeMessage | null) => {
      if (!m) return;
      const attempt = Number(m.properties.headers?.["x-delivery-count"] ?? 0) + 1;
      const attributes = Object.fromEntries(Object.entries(m.properties.headers ?? {}).filter(([k]) => !k.startsWith("x-")).map(([k, v]) => [k, String(v)]));
      const work = handler({ id: String(m.properties.messageId ?? m.fields.deliveryTag), data: m.content, attributes, deliveryAttempt: attempt })
        .then((verdict) => (verdict === "ack" ? ch.ack(m) : ch.nack(m, false, true)))
        .catch(() => ch.nack(m, false, true))
        .catch(() => undefined)
        .finally(() => inFlight.delete(work));
      inFlight.add(work);
    });
    return { ch, consumerTag };
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
      const ch = await withTimeout(publishChannel(), timeoutMs, "open publish channel");
      const messageId = randomUUID();
      const sent = new Promise<string>((resolve, reject) => {
        ch.publish(topic, "", message.data, { persistent: true, messageId, contentType: message.attributes?.["content-type"], headers: message.attributes }, (err) =>
          err ? reject(err) : resolve(messageId),
        );
      });
      return withTimeout(sent, timeoutMs, `publish to ${topic}`);
    },

    async subscribe(name, handler, options = {}) {
      const inFlight = new Set<Promise<void>>();
      let stopped = false;
      let current: { ch: amqp.Channel; consumerTag: string } | undefined;
      let retry: NodeJS.Timeout | undefined;
      const start = async (delayMs: number): Promise<void> => {
        if (stopped) return;
        try {
          current = await consume(name, handler, options.maxInFlight ?? 10, inFlight);
          current.ch.on("close", () => {
            current = undefined;
            if (!stopped && !closing) retry = setTimeout(() => void start(1000), 1000);
          });
        } catch (err) {
          onError(err, `subscribe ${name}`);
          retry = setTimeout(() => void start(Math.min(delayMs * 2, 10_000)), delayMs);
          if (delayMs === 0) throw err;
        }
      };
      await start(0);
      const consumer: Consumer = {
        async close() {
          stopped = true;
          clearTimeout(retry);
          if (current) await current.ch.cancel(current.consumerTag).catch(() => undefined);
          while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
          await current?.ch.close().catch(() => undefined);
          consumers.delete(consumer);
        },
      };
      consumers.add(consumer);
      return consumer;
    },

    async close() {
      closing = true;
      await Promise.all([...consumers].map((c) => c.close()));
      const c = conn;
      conn = undefined;
      if (c) await (await c.catch(() => undefined))?.close().catch(() => undefined);
    },
  };
}
