import net from "node:net";
import type { AddressInfo } from "node:net";

/** A TCP forwarder that can be cut and restored on the same port: "the database went away". */
export interface TcpProxy {
  port: number;
  /** Closes the listener and every forwarded connection. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const make = () =>
    net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  let server = make();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const cut = async () => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  return {
    port,
    cut,
    async restore() {
      server = make();
      await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    },
    close: () => (server.listening ? cut() : Promise.resolve()),
  };
}
