/** Test support: a TCP proxy in front of a server, to count what clients do and to cut the network. */
import net from "node:net";

export interface TestProxy {
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  /** The request lines seen so far ("GET /api/v1/... HTTP/1.1"). */
  requests(): string[];
  /** Watch requests seen so far. */
  watches(): number;
  /** Drops every connection and refuses new ones, as a network partition would. */
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startProxy(port: number): Promise<TestProxy> {
  const sockets = new Set<net.Socket>();
  let partitioned = false;
  let connections = 0;
  const requests: string[] = [];
  const server = net.createServer((client) => {
    if (partitioned) return client.destroy();
    connections++;
    const upstream = net.connect(port, "127.0.0.1");
    client.on("data", (chunk: Buffer) => {
      for (const m of chunk.toString("latin1").matchAll(/^(GET|POST|PUT|PATCH|DELETE) \S+ HTTP\/1\.1$/gm)) requests.push(m[0]);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connections: () => connections,
    requests: () => [...requests],
    watches: () => requests.filter((r) => /[?&]watch=true/.test(r)).length,
    cut() {
      partitioned = true;
      for (const s of sockets) s.destroy();
    },
    heal() {
      partitioned = false;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Waits for `what` to hold, polling; fails with `description` after `timeoutMs` (generous: a loaded machine is slow, never wrong). */
export async function until(what: () => boolean, description: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!what()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${description}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
