/**
 * A real adapter, started as npm start starts it (serviceArgs: the lifeline, then the service), whose
 * broker, API and Kubernetes are gone: it still exits within 10 s of SIGTERM or of its parent's death.
 * Its parent is a bare node process that only spawns it, so the test can SIGKILL that parent.
 *
 * @requires pubsub
 */
import { spawn } from "node:child_process";
import { createBroker } from "./broker/index.js";
import { encodeReconcileEvent, newReconcileEvent } from "./events/index.js";
import { serviceArgs } from "../stack/processes.js";
import { isRunning, waitUntil } from "../stack/process-table.js";
import { startTcpProxy, type TcpProxy } from "../../test/support/tcp-proxy.js";
import { freePort } from "../../test/support/ports.js";
import { startBlackHole, watchChild, type WatchedChild } from "../../test/support/child-process.js";

/** What every service must meet: onShutdown's 8 s deadline, after at most 1 s to notice a dead parent. */
const EXIT_BOUND_MS = 10_000;
const emulatorHost = process.env.PUBSUB_EMULATOR_HOST ?? "127.0.0.1:8085";

interface Adapter {
  pid: number;
  /** The parent; its output is the adapter's too (inherited). */
  parent: WatchedChild;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startAdapter(env: Record<string, string>): Promise<Adapter> {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const k of ["NODE_OPTIONS", "KUBECONFIG", "BROKER", "RABBITMQ_URL"]) delete base[k];
  const childEnv = {
    ...base,
    METADATA_SERVER_DETECTION: "none",
    AUTH: "none",
    ADAPTER: "validation",
    ADAPTER_PORT: String(await freePort()),
    ADAPTER_METRICS_PORT: String(await freePort()),
    TOPIC_NAMESPACE: `shut${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`,
    // Events are the only intake; the reconcile of one waits on the API for up to a minute.
    WATCH_OBJECTS: "false",
    API_TIMEOUT: "60s",
    LOG_LEVEL: "info",
    ...env,
  };
  const parentScript = `
    const { spawn } = require("node:child_process");
    const c = spawn(process.execPath, JSON.parse(process.argv[1]), { stdio: ["ignore", "inherit", "inherit"] });
    console.log("adapter pid " + c.pid);
    c.on("exit", () => process.exit(0));`;
  const args = serviceArgs("services/adapter/main.ts", {}, []);
  const parent = watchChild(spawn(process.execPath, ["-e", parentScript, JSON.stringify(args)], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] }));
  const pid = Number((await parent.waitFor(/adapter pid (\d+)/, 30_000))[1]);
  cleanups.push(() => {
    for (const p of [pid, parent.child.pid!]) if (isRunning(p)) process.kill(p, "SIGKILL");
  });
  return { pid, parent };
}

/** Ms until `pid` has exited; fails the test past `boundMs`. */
async function exitTime(pid: number, boundMs: number): Promise<number> {
  const started = Date.now();
  // Checked a little past the bound, so a late exit fails with its time rather than a timeout.
  await waitUntil(() => !isRunning(pid), boundMs + 5000);
  return Date.now() - started;
}

/** A running adapter, with one event in flight whose reconcile waits on an API that never answers. */
async function adapterWithEventInFlight(): Promise<{ adapter: Adapter; broker: TcpProxy }> {
  const [host, port] = emulatorHost.split(":");
  const broker = await startTcpProxy({ host, port: Number(port) });
  const api = await startBlackHole();
  cleanups.push(() => broker.close(), () => api.close());
  const namespace = `shut${Date.now().toString(36)}`;
  const adapter = await startAdapter({
    PUBSUB_EMULATOR_HOST: `127.0.0.1:${broker.port}`,
    API_URL: `http://127.0.0.1:${api.port}`,
    // Nothing listens there: Kubernetes is gone too.
    KUBE_URL: `http://127.0.0.1:${await freePort()}`,
    TOPIC_NAMESPACE: namespace,
  });
  await adapter.parent.waitFor(/adapter consuming/, 60_000);
  const publisher = createBroker({ kind: "pubsub", projectId: "hyperfleet-local", emulatorHost, timeoutMs: 10_000 });
  const event = newReconcileEvent({ id: "c-shutdown", kind: "Cluster", href: "/api/hyperfleet/v1/clusters/c-shutdown", generation: 1 }, "e-shutdown", new Date());
  await publisher.publish(`${namespace}-clusters`, { data: encodeReconcileEvent(event) });
  await publisher.close();
  expect(await waitUntil(() => api.connections() > 0, 30_000)).toBe(true);
  // The emulator goes away too: every packet dropped, nothing refused.
  broker.blackHole();
  return { adapter, broker };
}

test("SIGTERM: an adapter whose broker, API and Kubernetes are gone exits within 10 s, naming what it waited for", async () => {
  const { adapter } = await adapterWithEventInFlight();
  process.kill(adapter.pid, "SIGTERM");
  expect(await exitTime(adapter.pid, EXIT_BOUND_MS)).toBeLessThan(EXIT_BOUND_MS);
  expect(adapter.parent.output()).toMatch(/"reason":"SIGTERM".*"shutting down"/);
  expect(adapter.parent.output()).toMatch(/shutdown did not finish within 8000 ms; exiting while waiting for: \(\) ?=> ?consumer\.close\(\)"/);
}, 120_000);

test("parent SIGKILLed: a running adapter whose broker, API and Kubernetes are gone exits within 10 s", async () => {
  const { adapter } = await adapterWithEventInFlight();
  adapter.parent.child.kill("SIGKILL");
  expect(await exitTime(adapter.pid, EXIT_BOUND_MS)).toBeLessThan(EXIT_BOUND_MS);
  // The lifeline's SIGTERM, or onShutdown's own parent watch, whichever looks first.
  expect(adapter.parent.output()).toMatch(/"reason":"(SIGTERM|parent exited)".*"shutting down"/);
}, 120_000);

test("parent SIGKILLed while the adapter starts (its broker never answers): it exits within 10 s", async () => {
  const broker = await startBlackHole();
  cleanups.push(() => broker.close());
  // Its broker calls wait two minutes: without the lifeline its startup would outlast the parent that long.
  const adapter = await startAdapter({ PUBSUB_EMULATOR_HOST: `127.0.0.1:${broker.port}`, BROKER_TIMEOUT: "120s", API_URL: "http://127.0.0.1:1", KUBE_URL: "http://127.0.0.1:1" });
  // It is provisioning its subscription, far from registering its shutdown.
  expect(await waitUntil(() => broker.connections() > 0, 60_000)).toBe(true);
  adapter.parent.child.kill("SIGKILL");
  expect(await exitTime(adapter.pid, EXIT_BOUND_MS)).toBeLessThan(EXIT_BOUND_MS);
}, 120_000);

test("a main thread stuck in a synchronous loop (no timer, no signal handler runs): the backstop thread kills it", async () => {
  const fixture = `
    import { onShutdown } from "./services/shared/shutdown.ts";
    import { createLogger } from "./services/shared/log.ts";
    onShutdown(createLogger("stuck"), [function spin() { for (;;); }], { deadlineMs: 500 });
    console.log("ready");
    setInterval(() => undefined, 1000);`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = watchChild(spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", fixture], { env, stdio: ["ignore", "pipe", "pipe"] }));
  cleanups.push(() => child.child.kill("SIGKILL"));
  await child.waitFor(/ready/, 30_000);
  child.child.kill("SIGTERM");
  // The deadline's 500 ms, then the backstop's 1 s.
  expect(await child.exitWithin(10_000)).toBeLessThan(5000);
  expect(await child.exited).toEqual({ code: null, signal: "SIGKILL" });
  expect(child.output()).toMatch(/"shutdown \(SIGTERM\) still running 1500 ms on, its main thread stuck: SIGKILL"/);
}, 60_000);
