import amqp from "amqplib";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PubSub } from "@google-cloud/pubsub";
import type { BrokerConfig } from "../../services/shared/broker/index.js";
import { DEFAULT_EMULATOR_BIN, startEmulator, type Emulator } from "../../services/stack/emulator.js";
import { freePort } from "./ports.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

/**
 * A broker of the test's own that it can break, without disturbing the machine's broker or other
 * suites: a private Pub/Sub emulator (stopped, and started again empty on the same port, as a
 * restarted emulator comes back), or the machine's RabbitMQ behind a TCP proxy (cut and restored, as
 * a restart looks to a client; its durable queues survive, as a real restart's do).
 */
export interface BrokerFaults {
  /** Reaches the breakable broker; timeouts short, so faults show within seconds. */
  config: BrokerConfig;
  /** Every connection fails: the emulator is stopped, or RabbitMQ's connections are cut and refused. */
  stop(): Promise<void>;
  /** Back on the same address. The emulator comes back empty. */
  start(): Promise<void>;
  /** Deletes a subscription (Pub/Sub) or queue (RabbitMQ) behind the clients' backs. */
  deleteSubscription(name: string): Promise<void>;
  /** Deletes a topic (Pub/Sub) or exchange (RabbitMQ). */
  deleteTopic(name: string): Promise<void>;
  /** RabbitMQ: the server closes the connection named `name` (rabbitmqctl close_connection). */
  closeConnection?(name: string): Promise<void>;
  close(): Promise<void>;
}

const run = promisify(execFile);

export async function startBrokerFaults(kind: BrokerConfig["kind"]): Promise<BrokerFaults> {
  return kind === "pubsub" ? privateEmulator() : rabbitBehindProxy();
}

async function privateEmulator(): Promise<BrokerFaults> {
  const port = await freePort();
  const bin = process.env.PUBSUB_EMULATOR_BIN ?? DEFAULT_EMULATOR_BIN;
  let emulator: Emulator | undefined = await startEmulator(bin, port, () => undefined);
  const host = emulator.host;
  const admin = new PubSub({ projectId: "hyperfleet-test", apiEndpoint: host, emulatorMode: true });
  const swallowNotFound = (err: { code?: number }) => {
    if (err.code !== 5) throw err;
  };
  return {
    config: { kind: "pubsub", projectId: "hyperfleet-test", emulatorHost: host, timeoutMs: 2000 },
    async stop() {
      await emulator?.stop();
      emulator = undefined;
    },
    async start() {
      emulator ??= await startEmulator(bin, port, () => undefined);
    },
    deleteSubscription: (name) => admin.subscription(name).delete().then(() => undefined, swallowNotFound),
    deleteTopic: (name) => admin.topic(name).delete().then(() => undefined, swallowNotFound),
    async close() {
      await admin.close().catch(() => undefined);
      await emulator?.stop();
    },
  };
}

async function rabbitBehindProxy(): Promise<BrokerFaults> {
  const url = new URL(process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672");
  const proxy: TcpProxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5672) });
  const viaProxy = new URL(url);
  viaProxy.hostname = "127.0.0.1";
  viaProxy.port = String(proxy.port);
  /** One admin operation on a connection of its own, straight to RabbitMQ. */
  const admin = async (op: (ch: amqp.Channel) => Promise<unknown>) => {
    const conn = await amqp.connect(url.toString());
    try {
      await op(await conn.createChannel());
    } finally {
      await conn.close().catch(() => undefined);
    }
  };
  return {
    config: { kind: "rabbitmq", url: viaProxy.toString(), timeoutMs: 2000 },
    stop: () => proxy.cut(),
    start: () => proxy.restore(),
    deleteSubscription: (name) => admin((ch) => ch.deleteQueue(name)),
    deleteTopic: (name) => admin((ch) => ch.deleteExchange(name)),
    async closeConnection(name) {
      // Tab-separated rows: the pid as close_connection takes it, then the client properties in Erlang terms.
      const { stdout } = await run("rabbitmqctl", ["-q", "list_connections", "pid", "client_properties"], { timeout: 60_000 });
      const pids = stdout
        .split("\n")
        .filter((line) => line.includes(`{"connection_name","${name}"}`))
        .map((line) => line.split("\t")[0]);
      if (pids.length === 0) throw new Error(`no RabbitMQ connection named ${name}`);
      for (const pid of pids) await run("rabbitmqctl", ["-q", "close_connection", pid, "closed by a broker-fault test"], { timeout: 60_000 });
    },
    close: () => proxy.close(),
  };
}
