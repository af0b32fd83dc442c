/**
 * Which broker errors mean "the topic, subscription, queue or exchange is not there", the one fault
 * that provisioning cures. Everything else (unreachable, timed out, connection closed) is waited out.
 */

/** gRPC NOT_FOUND, as Pub/Sub answers for a missing topic or subscription. */
const GRPC_NOT_FOUND = 5;
/** AMQP 404 NOT_FOUND: RabbitMQ closes the channel with it for a missing queue or exchange. */
const AMQP_NOT_FOUND = 404;

/** Pub/Sub names a subscription's topic this way once the topic is deleted: it receives nothing more. */
export const PUBSUB_DELETED_TOPIC = "_deleted-topic_";

export function pubsubMissing(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === GRPC_NOT_FOUND;
}

export function rabbitMissing(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (e?.code === AMQP_NOT_FOUND) return true;
  // amqplib puts the code in the message of some errors only ("... 404 (NOT-FOUND) with message ...").
  return typeof e?.message === "string" && /\b404 \(NOT-FOUND\)/.test(e.message);
}
