import { Code, ConnectError } from "@connectrpc/connect";
import { createTempDatabase, type TempDatabase } from "../../test/support/temp-database.js";
import { startTcpProxy, type TcpProxy } from "../../test/support/tcp-proxy.js";
import { startApi, type TestApi } from "../../test/support/start-api.js";
import { eventually } from "../../test/support/brokers.js";

let temp: TempDatabase;
let proxy: TcpProxy;
let api: TestApi;

beforeAll(async () => {
  temp = await createTempDatabase();
  const direct = new URL(temp.url);
  proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  direct.host = `127.0.0.1:${proxy.port}`;
  api = await startApi({ databaseUrl: direct.toString() });
});
afterAll(async () => {
  await api.close();
  await proxy.close();
  await temp.drop();
});

test("Postgres down → Unavailable without SQL in the message; the API recovers when it returns", async () => {
  const before = await api.clusters.createCluster({ name: "outage-1", spec: {} });

  await proxy.cut();
  const err = await api.clusters.getCluster({ id: before.id }).then(
    () => undefined,
    (e) => ConnectError.from(e),
  );
  expect(err?.code).toBe(Code.Unavailable);
  expect(err?.rawMessage).toBe("database unavailable, retry later");
  const write = await api.clusters.createCluster({ name: "outage-2", spec: {} }).then(
    () => undefined,
    (e) => ConnectError.from(e),
  );
  expect(write?.code).toBe(Code.Unavailable);

  await proxy.restore();
  // Until the pool has reconnected: a loaded machine takes longer, never forever.
  const recovered = await eventually(() => api.clusters.getCluster({ id: before.id }).then((c) => c.name, () => undefined), 20_000, 100);
  expect(recovered).toBe("outage-1");
  expect((await api.clusters.createCluster({ name: "outage-2", spec: {} })).name).toBe("outage-2");
});
