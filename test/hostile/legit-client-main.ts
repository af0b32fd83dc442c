/**
 * The legitimate client, as its own process so that the attacker's work in the test process never
 * delays it: GetCluster over gRPC on a connection of its own, one call at a time, ~10 ms apart, for as
 * long as its stdin stays open. Prints one line per call: "<start ms since epoch> <latency ms> <outcome>".
 * Usage: node --import tsx legit-client-main.ts <api url> <cluster id>
 */
import http2 from "node:http2";

const [url, clusterId] = process.argv.slice(2);
const CALL_TIMEOUT_MS = 2000;
const PAUSE_MS = 10;

// GetClusterRequest{id}: field 1, length-delimited; in a gRPC envelope.
const id = Buffer.from(clusterId, "utf8");
const message = Buffer.concat([Buffer.from([0x0a, id.length]), id]);
const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);

let session: http2.ClientHttp2Session | undefined;
let running = true;
process.stdin.on("end", () => (running = false));
process.stdin.on("close", () => (running = false));
process.stdin.resume();

function connection(): http2.ClientHttp2Session {
  if (!session || session.closed || session.destroyed) {
    const s = http2.connect(url);
    s.on("error", () => undefined);
    s.on("goaway", () => {
      if (session === s) session = undefined;
    });
    session = s;
  }
  return session;
}

function call(): Promise<string> {
  return new Promise((resolve) => {
    let status: string | undefined;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = connection().request({ ":method": "POST", ":path": "/hyperfleet.v1.ClusterService/GetCluster", "content-type": "application/grpc+proto", te: "trailers", "grpc-timeout": `${CALL_TIMEOUT_MS}m` });
    } catch {
      session = undefined;
      resolve("client_error");
      return;
    }
    const timer = setTimeout(() => {
      status = "client_timeout";
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }, CALL_TIMEOUT_MS + 500);
    stream.on("response", (h) => (status = (h["grpc-status"] as string | undefined) ?? status));
    stream.on("trailers", (h) => (status = (h["grpc-status"] as string | undefined) ?? status));
    stream.on("data", () => undefined);
    stream.on("error", () => undefined);
    stream.on("close", () => {
      clearTimeout(timer);
      resolve(status === undefined ? "reset" : status === "0" ? "ok" : status === "client_timeout" ? status : `grpc_${status}`);
    });
    stream.end(frame);
  });
}

async function main(): Promise<void> {
  while (running) {
    const startedAt = Date.now();
    const t0 = performance.now();
    const outcome = await call();
    process.stdout.write(`${startedAt} ${(performance.now() - t0).toFixed(2)} ${outcome}\n`);
    await new Promise((r) => setTimeout(r, PAUSE_MS));
  }
  session?.destroy();
}

void main();
