/** A method's own request size limit holds on every protocol and both paths, before the handler runs. */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { AdapterService } from "../../../gen/hyperfleet/v1/adapter_pb.js";
import { createRpcServer, type RpcServer } from "./serve.js";

describe.each([true, false])("fastPath %s", (fastPath) => {
  let server: RpcServer;
  let url = "";
  let handled = 0;
  beforeAll(async () => {
    server = createRpcServer({
      fastPath,
      services: [AdapterService],
      maxRequestBytesFor: (m) => (m.name === "DryRun" ? 1024 : undefined),
      routes: (router) =>
        router.service(AdapterService, {
          dryRun: (req) => (handled++, { outcome: `ok ${req.eventJson.length}` }),
          getStatus: () => ({ adapter: "limits" }),
        }),
    });
    url = `http://127.0.0.1:${await server.listen(0, "127.0.0.1")}`;
  });
  afterAll(() => server.close(100));

  const transports = () => ({
    grpc: createGrpcTransport({ baseUrl: url }),
    "connect json over HTTP/1.1": createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat: false }),
    "connect proto over HTTP/2": createConnectTransport({ baseUrl: url, httpVersion: "2" }),
    "grpc-web": createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1" }),
  });

  test.each(["grpc", "connect json over HTTP/1.1", "connect proto over HTTP/2", "grpc-web"] as const)("over %s: within the limit served, beyond it ResourceExhausted naming the limit", async (name) => {
    const client = createClient(AdapterService, transports()[name]);
    expect((await client.dryRun({ eventJson: "x".repeat(900) })).outcome).toBe("ok 900");
    const before = handled;
    const err = await client.dryRun({ eventJson: "x".repeat(4000) }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect([err?.code, err?.rawMessage]).toEqual([Code.ResourceExhausted, expect.stringContaining("readMaxBytes 1024")]);
    expect(handled).toBe(before);
    // Other methods keep the server-wide limit.
    expect((await client.getStatus({})).adapter).toBe("limits");
  });
});

