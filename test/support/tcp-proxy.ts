import net from "node:net";
import type { AddressInfo } from "node:net";

/**
 * A TCP forwarder in front of a server, for outage tests: "the database went away" (cut) or "the
 * network drops every packet" (blackHole), and back (restore), on the same port.
 */
export interface TcpProxy {
  port: number;
  /** Closes the listener and every forwarded connection: connections are refused and reset. */
  cut(): Promise<void>;
  /**
   * Drops every packet: open connections stay open and new ones are accepted, everything sent is read,
   * and nothing gets through, either way. No error, no close: a caller only finds out by its timeouts.
   */
  blackHole(): void;
  /**
   * Forwards again. After a cut it listens again on the same port; after a black hole it delivers
   * what it held, in order, as TCP retransmission would once the network heals.
   */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** One client connection and its upstream, with what the black hole is holding for each. */
interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
  toUpstream: Buffer[];
  toClient: Buffer[];
  /** Upstream closed while held: the client learns it on restore. */
  upstreamClosed: boolean;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let holding = false;

  const connectUpstream = (p: Pair) => {
    const upstream = net.connect(target.port, target.host);
    p.upstream = upstream;
    upstream.on("error", () => upstream.destroy());
    upstream.on("data", (b: Buffer) => (holding ? p.toClient.push(b) : p.client.write(b)));
    upstream.on("close", () => {
      if (holding) p.upstreamClosed = true;
      else p.client.destroy();
    });
    for (const b of p.toUpstream.splice(0)) upstream.write(b);
  };

  const make = () =>
    net.createServer((client) => {
      const p: Pair = { client, toUpstream: [], toClient: [], upstreamClosed: false };
      pairs.add(p);
      client.on("error", () => client.destroy());
      client.on("data", (b: Buffer) => (holding || !p.upstream ? p.toUpstream.push(b) : p.upstream.write(b)));
      client.on("close", () => {
        pairs.delete(p);
        p.upstream?.destroy();
      });
      if (!holding) connectUpstream(p);
    });

  let server = make();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const cut = async () => {
    holding = false;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const p of pairs) {
      p.client.destroy();
      p.upstream?.destroy();
    }
    await closed;
  };
  return {
    port,
    cut,
    blackHole() {
      holding = true;
    },
    async restore() {
      if (holding) {
        holding = false;
        for (const p of pairs) {
          if (!p.upstream) connectUpstream(p);
          else for (const b of p.toUpstream.splice(0)) p.upstream.write(b);
          for (const b of p.toClient.splice(0)) p.client.write(b);
          if (p.upstreamClosed) p.client.end();
        }
      }
      if (!server.listening) {
        server = make();
        await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
      }
    },
    close: () => (server.listening ? cut() : Promise.resolve()),
  };
}
