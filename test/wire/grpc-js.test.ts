/**
 * Wire compatibility: a plain @grpc/grpc-js client (no Connect code) against the API's gRPC endpoint,
 * with authentication on (issue 18): the bearer token travels in each call's metadata (grpc-js will
 * not attach call credentials to an insecure channel, so metadata it is until the API serves TLS).
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type DescService, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ClusterService, CreateClusterRequestSchema, GetClusterRequestSchema, type Cluster } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { ReportStatusRequestSchema, StatusService, type ReportStatusResponse } from "../../gen/hyperfleet/v1/status_pb.js";
import { ConditionStatus } from "../../gen/hyperfleet/v1/condition_pb.js";
import { Phase } from "../../gen/hyperfleet/v1/resource_status_pb.js";
import { Health, HealthCheckRequestSchema, HealthCheckResponse_ServingStatus, type HealthCheckResponse } from "../../gen/grpc/health/v1/health_pb.js";
import { startApi, type TestApi } from "../support/start-api.js";

/** A grpc-js client class built from a protobuf-es service descriptor. */
function clientFor(service: DescService) {
  const definition: Record<string, grpc.MethodDefinition<MessageShape<DescMessage>, MessageShape<DescMessage>>> = {};
  for (const m of service.methods) {
    definition[m.localName] = {
      path: `/${service.typeName}/${m.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: MessageShape<DescMessage>) => Buffer.from(toBinary(m.input, v)),
      requestDeserialize: (b: Buffer) => fromBinary(m.input, b),
      responseSerialize: (v: MessageShape<DescMessage>) => Buffer.from(toBinary(m.output, v)),
      responseDeserialize: (b: Buffer) => fromBinary(m.output, b),
    };
  }
  return grpc.makeGenericClientConstructor(definition, service.typeName);
}

/** A unary call; with `token`, as `authorization: Bearer <token>` metadata. */
function unary<T>(client: grpc.Client, method: string, req: unknown, token?: string): Promise<T> {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, Function>)[method](req, metadata, { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null, res: T) =>
      err ? reject(err) : resolve(res),
    );
  });
}

let api: TestApi;
let clients: grpc.Client[] = [];
/** Tokens of the least privileged callers for each step: a user creates, the validation adapter reports. */
const tokens: Record<"user" | "validation" | "reader", string> = { user: "", validation: "", reader: "" };
beforeAll(async () => {
  api = await startApi({ auth: true });
  tokens.user = await api.issuer!.token("test:user");
  tokens.validation = await api.issuer!.token("test:adapter-validation");
  tokens.reader = await api.issuer!.token("test:reader");
});
afterAll(async () => {
  clients.forEach((c) => c.close());
  await api.close();
});

function connect(service: DescService): grpc.Client {
  const Ctor = clientFor(service);
  const c = new Ctor(`127.0.0.1:${api.port}`, grpc.credentials.createInsecure());
  clients.push(c);
  return c;
}

test("grpc-js creates, reads and reports with the token in metadata; errors arrive as gRPC status codes", async () => {
  const clusters = connect(ClusterService);
  const statuses = connect(StatusService);
  const c = await unary<Cluster>(clusters, "createCluster", create(CreateClusterRequestSchema, { name: "grpc-js-1", spec: { k: "v" } }), tokens.user);
  expect(c.generation).toBe(1n);
  expect(c.createdBy).toBe("test:user");
  const got = await unary<Cluster>(clusters, "getCluster", create(GetClusterRequestSchema, { id: c.id }), tokens.reader);
  expect(got.spec).toEqual({ k: "v" });

  const res = await unary<ReportStatusResponse>(
    statuses,
    "reportStatus",
    create(ReportStatusRequestSchema, {
      resourceId: c.id,
      adapter: "validation",
      observedGeneration: 1n,
      observedTime: timestampFromDate(new Date()),
      conditions: ["Applied", "Available", "Health"].map((type) => ({ type, status: ConditionStatus.TRUE })),
    }),
    tokens.validation,
  );
  expect(res.stored).toBe(true);
  expect(res.resourceStatus?.phase).toBe(Phase.NOT_READY);

  const err = await unary(clusters, "createCluster", create(CreateClusterRequestSchema, { name: "X", spec: {} }), tokens.user).catch((e) => e as grpc.ServiceError);
  expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
  expect((err as grpc.ServiceError).details).toMatch(/^name: /);
});

test("grpc.health.v1.Health/Check answers SERVING for the server and each service, with no token", async () => {
  const health = connect(Health);
  for (const service of ["", "hyperfleet.v1.ClusterService"]) {
    const r = await unary<HealthCheckResponse>(health, "check", create(HealthCheckRequestSchema, { service }));
    expect(r.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  }
  const err = await unary(health, "check", create(HealthCheckRequestSchema, { service: "nope.Service" })).catch((e) => e as grpc.ServiceError);
  expect((err as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
});

test("without the token a call is UNAUTHENTICATED; a reader's token on a write is PERMISSION_DENIED", async () => {
  const clusters = connect(ClusterService);
  const c = await unary<Cluster>(clusters, "createCluster", create(CreateClusterRequestSchema, { name: "grpc-js-2", spec: {} }), tokens.user);
  const anonymous = (await unary(clusters, "getCluster", create(GetClusterRequestSchema, { id: c.id })).catch((e) => e)) as grpc.ServiceError;
  expect(anonymous.code).toBe(grpc.status.UNAUTHENTICATED);
  expect(anonymous.details).toBe("authentication required");
  const expired = await api.issuer!.token("test:user", { ttlSeconds: -3600 });
  const refused = (await unary(clusters, "getCluster", create(GetClusterRequestSchema, { id: c.id }), expired).catch((e) => e)) as grpc.ServiceError;
  expect([refused.code, refused.details]).toEqual([grpc.status.UNAUTHENTICATED, "invalid credentials"]);
  const denied = (await unary(clusters, "createCluster", create(CreateClusterRequestSchema, { name: "grpc-js-3", spec: {} }), tokens.reader).catch((e) => e)) as grpc.ServiceError;
  expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
});
