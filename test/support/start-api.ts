import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { NodePoolService } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import { StatusService } from "../../gen/hyperfleet/v1/status_pb.js";
import { createServer } from "../../services/api/server.js";
import { createDb, migrate, type Knex } from "../../services/api/store/db.js";
import { silentLogger } from "../../services/shared/log.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLocalCa } from "../../services/shared/auth/local-ca.js";
import { createTestIssuer, type TestIssuer } from "./test-issuer.js";
import { createTempDatabase, type TempDatabase } from "./temp-database.js";
import { createNoAuth } from "../../services/shared/auth/index.js";
import { createChangeBell } from "../../services/api/watch.js";
import { listenForChanges } from "../../services/api/store/change-listener.js";

/** An API server on a real port over its own temporary database, with typed clients. */
export interface TestApi {
  baseUrl: string;
  port: number;
  db: Knex;
  clusters: Client<typeof ClusterService>;
  nodepools: Client<typeof NodePoolService>;
  statuses: Client<typeof StatusService>;
  grpc: Transport;
  metricsText(): Promise<string>;
  /** With `tls: true`: the CA certificate that signed the server's (PEM file). */
  caFile?: string;
  /** With `auth: true`: the issuer the API trusts (tokens for any test identity); the typed clients carry test:operator's. */
  issuer?: TestIssuer;
  close(): Promise<void>;
}

export interface StartApiOptions {
  /** Use this database instead of a fresh temporary one. */
  databaseUrl?: string;
  now?: () => Date;
  clusterAdapters?: string[];
  /** Cluster adapters whose reports are stored without deciding the phase. */
  optionalAdapters?: string[];
  /** Authenticate every call with real JWTs (test-issuer.ts) instead of AUTH=none. */
  auth?: boolean;
  /** Serve TLS with a certificate from a temporary local CA (`caFile` for clients); the typed clients trust it. */
  tls?: boolean;
  /** Wake watchers by Postgres LISTEN, as main.ts does (every replica's writes), instead of this server's own writes. */
  listen?: boolean;
}

/** Starts createServer(deps) on 127.0.0.1:0 as main.ts would, minus the process. */
export async function startApi(opts: StartApiOptions = {}): Promise<TestApi> {
  let temp: TempDatabase | undefined;
  let url = opts.databaseUrl;
  if (url === undefined) {
    temp = await createTempDatabase();
    url = temp.url;
  }
  const issuer = opts.auth ? await createTestIssuer() : undefined;
  const interceptors = issuer ? await issuer.credentials("test:operator") : [];
  const ca = opts.tls ? await temporaryCa() : undefined;
  const db = createDb({ url, connectTimeoutMs: 1000, poolMax: 10 });
  await migrate(db);
  const changeBell = opts.listen ? createChangeBell() : undefined;
  const listener = changeBell ? listenForChanges(url, changeBell, silentLogger()) : undefined;
  const { server, metrics } = createServer({
    changeBell,
    changeListenerUp: listener ? () => listener.live() : undefined,
    db,
    log: silentLogger(),
    auth: issuer ? issuer.authenticator() : createNoAuth(),
    clusterAdapters: opts.clusterAdapters ?? ["validation", "dns", "placement"],
    now: opts.now,
    optionalAdapters: { clusters: opts.optionalAdapters },
    tls: ca?.serve,
  });
  const port = await server.listen(0, "127.0.0.1");
  const baseUrl = `${ca ? "https" : "http"}://127.0.0.1:${port}`;
  const nodeOptions = ca ? { ca: ca.caCert } : undefined;
  const connect = createConnectTransport({ baseUrl, httpVersion: "2", interceptors, nodeOptions });
  const grpc = createGrpcTransport({ baseUrl, interceptors, nodeOptions });
  return {
    baseUrl,
    port,
    db,
    clusters: createClient(ClusterService, connect),
    nodepools: createClient(NodePoolService, connect),
    statuses: createClient(StatusService, grpc),
    grpc,
    issuer,
    caFile: ca?.caFile,
    metricsText: () => metrics.registry.metrics(),
    async close() {
      await server.close(100);
      await listener?.close();
      await db.destroy();
      await temp?.drop();
      issuer?.remove();
      ca?.remove();
    },
  };
}

/** A CA in a temporary directory and a certificate for 127.0.0.1 / localhost signed by it. */
async function temporaryCa() {
  const dir = mkdtempSync(join(tmpdir(), "hf-ca-"));
  const ca = await openLocalCa(dir);
  const issued = await ca.issueCertificate({ ipAddresses: ["127.0.0.1"], dnsNames: ["localhost"], days: 1 });
  return { serve: { cert: issued.cert, key: issued.key }, caCert: ca.cert, caFile: ca.certFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
