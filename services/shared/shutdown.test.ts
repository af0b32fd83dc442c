import { pino } from "pino";
import { createShutdown } from "./shutdown.js";

/** A logger that keeps what it logs, and a stand-in for process.exit that a test can await. */
function harness() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const exits: number[] = [];
  let onExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (onExit = resolve));
  const exit = (code: number) => {
    exits.push(code);
    onExit(code);
  };
  return { log, lines, exits, exited, exit };
}

test("runs the steps in order, once, and exits 0", async () => {
  const h = harness();
  const ran: string[] = [];
  const shutdown = createShutdown(h.log, [() => ran.push("intake"), async () => ran.push("server"), { name: "broker", run: () => ran.push("broker") }], { exit: h.exit });
  await shutdown.run("SIGTERM");
  expect(ran).toEqual(["intake", "server", "broker"]);
  expect(h.exits).toEqual([0]);
  expect(h.lines.map((l) => l.msg)).toEqual(["shutting down", "stopped"]);
});

test("a second signal joins the shutdown in progress: the steps run once, and it says what is pending", async () => {
  const h = harness();
  let release: () => void = () => undefined;
  let runs = 0;
  const drain = () => {
    runs++;
    return new Promise<void>((r) => (release = r));
  };
  const shutdown = createShutdown(h.log, [drain], { exit: h.exit });
  const first = shutdown.run("SIGTERM");
  const second = shutdown.run("parent exited");
  expect(second).toBe(first);
  expect(h.lines[1]).toMatchObject({ msg: "already shutting down", reason: "parent exited", waitingFor: "drain" });
  expect(h.exits).toEqual([]);
  release();
  await second;
  expect(runs).toBe(1);
  expect(h.exits).toEqual([0]);
});

test("a failing step is logged and the next ones still run", async () => {
  const h = harness();
  const ran: string[] = [];
  const shutdown = createShutdown(h.log, [() => { throw new Error("consumer gone"); }, () => ran.push("server")], { exit: h.exit });
  await shutdown.run("SIGTERM");
  expect(ran).toEqual(["server"]);
  expect(h.lines).toContainEqual(expect.objectContaining({ msg: "shutdown step failed", err: "Error: consumer gone" }));
  expect(h.exits).toEqual([0]);
});

test("a step that never finishes: the process exits 1 at the deadline, naming the step", async () => {
  const h = harness();
  const consumer = { close: () => new Promise<void>(() => undefined) };
  const ran: string[] = [];
  const shutdown = createShutdown(h.log, [() => ran.push("watch"), () => consumer.close(), () => ran.push("never")], { exit: h.exit, deadlineMs: 300 });
  const started = Date.now();
  void shutdown.run("SIGTERM");
  expect(await h.exited).toBe(1);
  // Named by its source text, however the compiler spaced it.
  expect(shutdown.pending()).toMatch(/^\(\) ?=> ?consumer\.close\(\)$/);
  expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  expect(ran).toEqual(["watch"]);
  expect(h.lines).toContainEqual(expect.objectContaining({ level: 50, pending: shutdown.pending(), msg: expect.stringContaining("did not finish within 300 ms") }));
  expect(h.exits).toEqual([1]);
});
