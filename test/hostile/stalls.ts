/**
 * Connections that hold a server's resources and never finish: HTTP/2 streams that send headers and
 * part of a body then stall, HTTP/2 connections that say nothing after their preface, HTTP/1.1
 * requests whose body (or headers) never completes, and TCP connections that never speak. Each is
 * timed from when it opened until the server closed it.
 */
import http2 from "node:http2";
import net from "node:net";

export interface StallPlan {
  /** HTTP/2 connections carrying stalled streams, and streams on each. */
  h2Connections: number;
  streamsPerConnection: number;
  /** Body bytes each stalled stream sends of the message it announces. */
  partialBytes: number;
  idleH2: number;
  h1Bodies: number;
  h1Headers: number;
  silentTcp: number;
}

export const STALL_PLAN: StallPlan = { h2Connections: 2, streamsPerConnection: 200, partialBytes: 256 * 1024, idleH2: 20, h1Bodies: 50, h1Headers: 10, silentTcp: 10 };

/**
 * The message size a stalled CreateCluster announces: under the API's 512 KiB limit for writes
 * (services/api/limits.ts MAX_REQUEST_BYTES.write), so that only the server's timeouts and its bound
 * on request bytes held in flight can end it, not the size check.
 */
const ANNOUNCED_BYTES = 480 * 1024;

export type StallKind = "h2 stalled stream" | "h2 idle connection" | "h1 partial body" | "h1 partial headers" | "tcp silent";

interface Held {
  kind: StallKind;
  openedAt: number;
  closedAt?: number;
  /** The server answered before closing (e.g. a timeout status), rather than just closing. */
  answered?: string;
}

export interface StallSummary {
  kind: StallKind;
  opened: number;
  closed: number;
  answered: number;
  /** Longest time from open to the server's close, among the closed ones. */
  maxCloseMs: number;
  /** What the server answered before closing, with counts: "grpc-status 8:372", "HTTP/1.1 408 Request Timeout:10". */
  answers: string;
}

export interface Stalls {
  /** Resolves once the server closed every stalled connection and stream, or `timeoutMs` passed. */
  waitAllClosed(timeoutMs: number): Promise<StallSummary[]>;
  /** Our side lets go of whatever is still open. */
  destroy(): void;
}

const CREATE_CLUSTER = "/hyperfleet.v1.ClusterService/CreateCluster";

export async function openStalls(url: string, plan: StallPlan = STALL_PLAN): Promise<Stalls> {
  const { hostname, port } = new URL(url);
  const held: Held[] = [];
  const sessions: http2.ClientHttp2Session[] = [];
  const sockets: net.Socket[] = [];
  const hold = (kind: StallKind) => {
    const h: Held = { kind, openedAt: Date.now() };
    held.push(h);
    return h;
  };
  const closed = (h: Held) => () => (h.closedAt ??= Date.now());

  // A gRPC envelope announcing a message, then only part of it.
  const partial = Buffer.alloc(5 + plan.partialBytes, 0x61);
  partial[0] = 0;
  partial.writeUInt32BE(ANNOUNCED_BYTES, 1);
  for (let c = 0; c < plan.h2Connections; c++) {
    // Our side must not be the one giving up: Node's 10 MB default session memory is for servers.
    const session = http2.connect(url, { maxSessionMemory: 1024 });
    sessions.push(session);
    session.on("error", () => undefined);
    for (let i = 0; i < plan.streamsPerConnection; i++) {
      const h = hold("h2 stalled stream");
      try {
        const stream = session.request({ ":method": "POST", ":path": CREATE_CLUSTER, "content-type": "application/grpc+proto", te: "trailers" });
        stream.on("error", () => undefined);
        stream.on("response", (headers) => (h.answered = headers["grpc-status"] !== undefined ? `grpc-status ${headers["grpc-status"]}` : `HTTP ${headers[":status"]}`));
        stream.on("trailers", (headers) => (h.answered = `grpc-status ${headers["grpc-status"]}`));
        stream.on("data", () => undefined);
        stream.on("close", closed(h));
        stream.write(partial);
      } catch {
        h.closedAt = h.openedAt;
        h.answered = "refused";
      }
    }
  }
  for (let i = 0; i < plan.idleH2; i++) {
    const h = hold("h2 idle connection");
    const session = http2.connect(url);
    sessions.push(session);
    session.on("error", () => undefined);
    session.on("close", closed(h));
  }
  const rawSocket = (kind: StallKind, bytes: string) => {
    const h = hold(kind);
    const socket = net.connect(Number(port), hostname);
    sockets.push(socket);
    socket.on("error", () => undefined);
    socket.on("data", (b: Buffer) => (h.answered ??= b.toString("latin1").split("\r\n")[0]));
    socket.on("close", closed(h));
    if (bytes) socket.write(bytes);
  };
  const body = `{"name":"${"a".repeat(64 * 1024)}`;
  for (let i = 0; i < plan.h1Bodies; i++) {
    rawSocket("h1 partial body", `POST ${CREATE_CLUSTER} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nConnect-Protocol-Version: 1\r\nContent-Length: ${ANNOUNCED_BYTES}\r\n\r\n${body}`);
  }
  for (let i = 0; i < plan.h1Headers; i++) rawSocket("h1 partial headers", `POST ${CREATE_CLUSTER} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n`);
  for (let i = 0; i < plan.silentTcp; i++) rawSocket("tcp silent", "");

  const summary = (): StallSummary[] =>
    (["h2 stalled stream", "h2 idle connection", "h1 partial body", "h1 partial headers", "tcp silent"] as StallKind[])
      .map((kind) => {
        const of = held.filter((h) => h.kind === kind);
        const done = of.filter((h) => h.closedAt !== undefined);
        const answers = new Map<string, number>();
        for (const h of of) if (h.answered !== undefined) answers.set(h.answered, (answers.get(h.answered) ?? 0) + 1);
        return {
          kind,
          opened: of.length,
          closed: done.length,
          answered: of.filter((h) => h.answered !== undefined).length,
          maxCloseMs: Math.max(0, ...done.map((h) => h.closedAt! - h.openedAt)),
          answers: [...answers].map(([a, n]) => `${a}:${n}`).join(", "),
        };
      })
      .filter((s) => s.opened > 0);

  return {
    async waitAllClosed(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (held.some((h) => h.closedAt === undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      return summary();
    },
    destroy() {
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
    },
  };
}
