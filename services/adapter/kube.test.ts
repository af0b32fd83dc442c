/**
 * Kubernetes access through client-node's public API, against the stand-in: what we rely on, and
 * what client-node 2.0.1 alone gets wrong for us (each shown next to ours).
 */
import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { KubeConfig, KubernetesObjectApi, makeInformer, type Informer, type KubernetesListObject } from "@kubernetes/client-node";
import { createKubeObjects, KubeError, makeKubeInformer, type KubeObject } from "./kube.js";
import { startProxy, until, type TestProxy } from "./test-proxy.js";
import { startStandin, type TestStandin } from "../../test/support/start-standin.js";

const run = promisify(execFile);
let standin: TestStandin;
let proxy: TestProxy;
beforeAll(async () => {
  standin = await startStandin();
  proxy = await startProxy(standin.port);
});
afterAll(async () => {
  await proxy.close();
  await standin.close();
});

const jobs = () => standin.store.resolve("batch", "v1", "jobs")!;
const job = (name: string): KubeObject => ({
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name, namespace: "default", labels: { app: "kube-test" } },
  spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } },
});
const namespaceDefault = { apiVersion: "v1", kind: "Namespace", name: "default" };
/** A client-node config for `url`, as KubernetesObjectApi.makeApiClient users write it. */
const configFor = (url: string, user = "dev") => {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: "standin", server: url, skipTLSVerify: true }, { name: user });
  return kc;
};

test("calls share a connection; client-node 2.0.1 alone opens one per call", async () => {
  const ours = createKubeObjects({ kind: "url", url: proxy.url }, 5000);
  await ours.get(namespaceDefault); // discovery, then the read
  let before = proxy.connections();
  for (let i = 0; i < 20; i++) await ours.get(namespaceDefault);
  expect(proxy.connections()).toBe(before);

  const stock = KubernetesObjectApi.makeApiClient(configFor(proxy.url));
  const read = () => stock.read({ apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } });
  await read();
  before = proxy.connections();
  for (let i = 0; i < 20; i++) await read();
  expect(proxy.connections() - before).toBeGreaterThanOrEqual(20);
});

test("a call past its timeout is cancelled, not abandoned: the server sees the request go", async () => {
  let closed = 0;
  const silent = http.createServer((req) => req.socket.on("close", () => closed++)); // never answers
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  try {
    const kube = createKubeObjects({ kind: "url", url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` }, 100);
    const err = await kube.get(namespaceDefault).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeError);
    expect(err).toMatchObject({ code: 0, reason: "Unreachable", message: "get Namespace default: timed out after 100 ms" });
    await until(() => closed === 1, "the server to see the connection closed");
  } finally {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  }
});

describe("informers", () => {
  const path = "/apis/batch/v1/namespaces/default/jobs";
  const selector = "app=kube-test";
  const lister = (kc: KubeConfig) => {
    const api = KubernetesObjectApi.makeApiClient(kc);
    return () => api.list<KubeObject>("batch/v1", "Job", "default", undefined, undefined, undefined, undefined, selector);
  };
  /** Lists only once `open()` is called, so a test can act while the listing is in flight. */
  const gated = (list: ReturnType<typeof lister>) => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    return { list: () => gate.then(list), open: () => open() };
  };
  const record = (informer: Informer<KubeObject>) => {
    const seen: string[] = [];
    informer.on("add", (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on("error", (err) => seen.push(`error ${(err as Error)?.name}: ${(err as Error)?.message}`));
    return seen;
  };

  test("stop() while listing: client-node's informer still watches and reports changes after it; ours opens no watch", async () => {
    const kc = configFor(proxy.url);
    const run = async (make: (list: () => Promise<KubernetesListObject<KubeObject>>) => Informer<KubeObject>) => {
      const { list, open } = gated(lister(kc));
      const informer = make(list);
      const seen = record(informer);
      const watchesBefore = proxy.watches();
      const started = informer.start();
      await informer.stop();
      open();
      await started;
      return { seen, watched: proxy.watches() - watchesBefore, informer };
    };

    const stock = await run((list) => makeInformer(kc, path, list, selector));
    expect(stock.watched).toBe(1);
    standin.store.create(jobs(), "default", job("after-stop") as never);
    await until(() => stock.seen.includes("add after-stop"), "client-node's stopped informer to report the new Job");
    await stock.informer.stop(); // stop() again: now there is a request to abort

    const ours = await run((list) => makeKubeInformer(kc, path, list, selector));
    expect(ours.watched).toBe(0); // the listing in flight still lands in its store, but nothing follows it
    expect(ours.seen).toEqual(["add after-stop"]);
  });

  test("stop() after start: client-node's informer reports the abort as an error (a restart-on-error handler restarts it); ours is silent", async () => {
    const kc = configFor(proxy.url);
    const stock = makeInformer(kc, path, lister(kc), selector);
    const ours = makeKubeInformer(kc, path, lister(kc), selector);
    const stockSeen = record(stock);
    const oursSeen = record(ours);
    await Promise.all([stock.start(), ours.start()]);
    await Promise.all([stock.stop(), ours.stop()]);
    await until(() => stockSeen.some((s) => s.startsWith("error AbortError")), "client-node's informer to report its abort");
    await new Promise((r) => setImmediate(r));
    expect(oursSeen.filter((s) => s.startsWith("error"))).toEqual([]);
  });

  test("credentials failing when the watch is re-opened: client-node's informer leaves an unhandled rejection, which ends the process; ours reports an error", async () => {
    let failing = false;
    const kc = configFor(standin.url, "flaky");
    kc.addAuthenticator({
      isAuthProvider: (user) => user.name === "flaky",
      applyAuthentication: async () => {
        if (failing) throw new Error("credential plugin failed");
      },
    });
    // The server ends each watch after a second (its timeout), so the informer re-opens it.
    const ending = `${path}?timeoutSeconds=1`;

    // client-node's own, in a process of its own (jest would catch the rejection and fail this test).
    const script = `
      import { KubeConfig, KubernetesObjectApi, makeInformer } from "@kubernetes/client-node";
      let failing = false;
      const kc = new KubeConfig();
      kc.loadFromClusterAndUser({ name: "standin", server: process.env.STANDIN_URL, skipTLSVerify: true }, { name: "flaky" });
      kc.addAuthenticator({ isAuthProvider: (u) => u.name === "flaky", applyAuthentication: async () => { if (failing) throw new Error("credential plugin failed"); } });
      const api = KubernetesObjectApi.makeApiClient(kc);
      const informer = makeInformer(kc, ${JSON.stringify(ending)}, () => api.list("batch/v1", "Job", "default"));
      informer.on("error", (err) => console.log("error event:", String(err)));
      await informer.start();
      failing = true;
      setTimeout(() => (console.log("still running"), process.exit(0)), 15000);
    `;
    const child = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: process.cwd(), env: { ...process.env, STANDIN_URL: standin.url }, timeout: 25_000 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(child.code).not.toBe(0);
    expect(child.stderr).toContain("credential plugin failed");
    expect(child.stdout).not.toContain("error event"); // nothing told its user

    // Ours: the same failure arrives as the informer's error (an unhandled rejection would fail this test).
    const ours = makeKubeInformer(kc, ending, lister(configFor(standin.url)), selector);
    const seen = record(ours);
    try {
      await ours.start();
      failing = true;
      await until(() => seen.some((s) => s.includes("credential plugin failed")), "our informer to report the failure");
    } finally {
      await ours.stop();
    }
  });

  test("ours asks for bookmarks: a quiet watch resumes from the server's latest resourceVersion", async () => {
    const kc = configFor(standin.url);
    const informer = makeKubeInformer(kc, `${path}?timeoutSeconds=1`, lister(kc), selector);
    try {
      await informer.start();
      // Writes the selector does not match: no event for this watch, yet the resourceVersion moves on.
      for (let i = 0; i < 5; i++) standin.store.create(jobs(), "default", { ...job(`other-${i}`), metadata: { name: `other-${i}`, namespace: "default" } } as never);
      const latest = standin.store.resourceVersion();
      await until(() => Number(informer.latestResourceVersion()) >= Number(latest), "a bookmark to advance the informer");
    } finally {
      await informer.stop();
    }
  });
});
