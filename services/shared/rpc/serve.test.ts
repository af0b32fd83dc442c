import net from "node:net";
import { createRpcServer } from "./serve.js";

test("Regression guard: a connection reset before its first byte crashed the process", async () => {
  const server = createRpcServer({ routes: () => undefined, services: [] });
  const port = await server.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => {
      s.resetAndDestroy();
      resolve();
    });
  });
  await new Promise((r) => setTimeout(r, 100));
  // Still serving: a plain HTTP/1.1 request gets an answer.
  const res = await fetch(`http://127.0.0.1:${port}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(res.status).toBe(200);
  await server.close(100);
});

test("close returns at once when HTTP/1.1 keep-alive clients are idle", async () => {
  const server = createRpcServer({ routes: () => undefined, services: [] });
  const port = await server.listen(0, "127.0.0.1");
  await fetch(`http://127.0.0.1:${port}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  const started = Date.now();
  await server.close(5000);
  expect(Date.now() - started).toBeLessThan(2000);
});
