/**
 * A service run as its own process, compiled and with the heap budget `npm start` gives it, so that
 * running out of memory is a crash this suite sees (exit code, signal, V8's last words) rather than a
 * slow test. A crashed service is restarted on the same port, so later attacks still have a target.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http2 from "node:http2";
import net from "node:net";
import { serviceEnv, serviceNodeArgs } from "../../services/stack/processes.js";

export interface Crash {
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The output's last lines, where V8 says "heap out of memory". */
  tail: string;
}

export interface ServiceProcess {
  name: string;
  port: number;
  url: string;
  pid(): number;
  alive(): boolean;
  crashes: Crash[];
  /** Error-level log lines (pino level ≥ 50): the causes behind Internal answers. */
  errorLines: string[];
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const TAIL_LINES = 40;

export async function startServiceProcess(name: string, bundle: string, env: Record<string, string>, port: number): Promise<ServiceProcess> {
  const childEnv: Record<string, string> = { ...(process.env as Record<string, string>), LOG_LEVEL: "warn", METADATA_SERVER_DETECTION: "none",
    // The attacks are on input and load, made as an authenticated operator could (AUTH=none: every caller
    // is one); authentication's own attacks are services/shared/auth/rpc-matrix.test.ts.
    AUTH: "none",
    ...env };
  // jest's own flags (--experimental-vm-modules) are not the service's.
  delete childEnv.NODE_OPTIONS;
  let child: ChildProcess;
  let tail: string[] = [];
  let stopping = false;
  const self: ServiceProcess = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    pid: () => child.pid ?? -1,
    alive: () => child.exitCode === null && child.signalCode === null,
    crashes: [],
    errorLines: [],
    restart: () => launch(),
    async stop() {
      stopping = true;
      if (!self.alive()) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };

  async function launch(): Promise<void> {
    tail = [];
    child = spawn(process.execPath, [...serviceNodeArgs(childEnv), bundle], { env: serviceEnv(childEnv), stdio: ["ignore", "pipe", "pipe"] });
    const me = child;
    // A test process that dies (or is killed by jest) takes its services with it.
    const orphanGuard = () => me.kill("SIGKILL");
    process.once("exit", orphanGuard);
    me.once("exit", () => process.off("exit", orphanGuard));
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (/"level":(5\d|60)/.test(line) && self.errorLines.length < 200) self.errorLines.push(line.slice(0, 2000));
    };
    for (const stream of [me.stdout!, me.stderr!]) {
      let partial = "";
      stream.on("data", (b: Buffer) => {
        const lines = (partial + b.toString()).split("\n");
        partial = lines.pop()!;
        lines.forEach(onLine);
      });
    }
    me.once("exit", (code, signal) => {
      if (!stopping) self.crashes.push({ at: Date.now(), code, signal, tail: tail.join("\n") });
    });
    await waitForPort(port, () => me.exitCode !== null || me.signalCode !== null, name, () => tail.join("\n"));
  }

  await launch();
  return self;
}

async function waitForPort(port: number, exited: () => boolean, name: string, output: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error(`${name} exited before listening:\n${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * grpc.health.v1.Health/Check over a connection of its own: "SERVING", another status name, or why
 * there was no answer. A new connection each time, so a server that stopped accepting is seen too.
 */
export function healthCheck(url: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const session = http2.connect(url);
    let status: string | undefined;
    const chunks: Buffer[] = [];
    const done = (answer: string) => {
      clearTimeout(timer);
      session.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done("no answer within the timeout"), timeoutMs);
    session.on("error", (err) => done(`connection failed: ${err.message}`));
    const stream = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc+proto", te: "trailers" });
    stream.on("response", (h) => (status = h["grpc-status"] as string | undefined));
    stream.on("trailers", (h) => (status = (h["grpc-status"] as string | undefined) ?? status));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", () => undefined);
    stream.on("close", () => {
      // HealthCheckResponse after the 5-byte envelope: field 1 (status) as a varint; SERVING = 1.
      const payload = Buffer.concat(chunks).subarray(5);
      const served = payload.length >= 2 && payload[0] === 0x08 ? payload[1] : 0;
      if (status !== "0") done(`grpc-status ${status ?? "none"}`);
      else done(served === 1 ? "SERVING" : served === 2 ? "NOT_SERVING" : `status ${served}`);
    });
    stream.end(Buffer.alloc(5));
  });
}
