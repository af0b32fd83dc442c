/**
 * Malformed requests as a pure function of a seed: the same seed (and the same target ids) gives
 * the same requests, byte for byte, so a failing run replays with TEST_SEED. Each request takes one
 * API method (or none: an unknown path), one protocol and one mutation from a closed set, from
 * the transport (content type, timeout, compression, envelope, HTTP method) down to field values.
 */
import { type DescMessage, type DescMethod, type JsonObject } from "@bufbuild/protobuf";
import { ClusterService } from "../../gen/hyperfleet/v1/cluster_pb.js";
import { NodePoolService } from "../../gen/hyperfleet/v1/nodepool_pb.js";
import { StatusService } from "../../gen/hyperfleet/v1/status_pb.js";
import type { SeededRandom } from "../support/seeded-random.js";
import type { Protocol } from "./outcome.js";
import type { WireRequest } from "./wire.js";
import { protocolHeaders } from "./wire.js";
import { applies, encode, mutate, MUTATIONS, structField, weighted, type Draft, type Mutation } from "./mutations.js";

export { MUTATIONS, type Mutation };

/** The costly mutations (megabytes to build and send) are drawn less often, so a run stays within its time. */
const MUTATION_WEIGHTS: [Mutation, number][] = MUTATIONS.map((m) => [m, m === "huge-string" ? 0.3 : m === "deep-nesting" || m === "many-violations" ? 0.5 : 1]);

/**
 * Every unary method the API serves. The watch streams are left out, as Health/Watch is: a request a
 * mutation leaves well-formed rightly streams until its client goes, which this harness would count
 * as a hang; their bad requests are covered by services/api/watch.test.ts.
 */
export const API_METHODS: readonly DescMethod[] = [ClusterService, NodePoolService, StatusService].flatMap((s) => s.methods).filter((m) => m.methodKind === "unary");

/** Protocol and HTTP version, weighted: a third gRPC, the rest Connect (proto, JSON) and gRPC-Web, a third over HTTP/1.1. */
const CHANNELS: [[Protocol, "h2" | "h1"], number][] = [
  [["grpc", "h2"], 30],
  [["connect-proto", "h2"], 15],
  [["connect-json", "h2"], 20],
  [["connect-json", "h1"], 20],
  [["connect-proto", "h1"], 5],
  [["grpc-web", "h1"], 8],
  [["grpc", "h1"], 2],
];

export interface HostileRequest extends WireRequest {
  index: number;
  mutation: Mutation;
  protocol: Protocol;
  /** "ClusterService/GetCluster", or "unknown" for a path no method has. */
  target: string;
}

/** Real resources for requests to aim at (so mutations reach past "not found"); never ones a test relies on. */
export interface Targets {
  clusterIds: string[];
  nodepoolIds: string[];
}

/** Request `index` of the sequence `random` seeds; draw them in order. */
export function* hostileRequests(random: SeededRandom, count: number, targets: Targets): Generator<HostileRequest> {
  for (let index = 0; index < count; index++) yield hostileRequest(random, index, targets);
}

function hostileRequest(random: SeededRandom, index: number, targets: Targets): HostileRequest {
  const mutation = weighted(random, MUTATION_WEIGHTS);
  const [protocol, httpVersion] = weighted(random, CHANNELS);
  const candidates = API_METHODS.filter((m) => applies(mutation, m));
  const method = random.pick(candidates.length > 0 ? candidates : API_METHODS);
  const draft: Draft = {
    protocol,
    method,
    init: baseInit(random, method.input, targets),
    headers: protocolHeaders(protocol),
    httpMethod: "POST",
    path: `/${method.parent.typeName}/${method.name}`,
  };
  mutate(random, mutation, draft);
  const body = draft.body ?? encode(draft);
  return { index, mutation, protocol, http: httpVersion, method: draft.httpMethod, path: draft.path, headers: draft.headers, body, target: draft.path === `/${method.parent.typeName}/${method.name}` ? `${method.parent.name}/${method.name}` : "unknown" };
}

/** A well-formed request for the method, aimed at a real resource half of the time. */
function baseInit(random: SeededRandom, m: DescMessage, targets: Targets): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  const realId = (ids: string[]) => (ids.length > 0 && random.next() < 0.5 ? random.pick(ids) : uuidFrom(random));
  for (const f of m.fields) {
    if (f.name === "id") init[f.localName] = realId(m.name.includes("NodePool") ? targets.nodepoolIds : targets.clusterIds);
    else if (f.name === "cluster_id" || f.name === "resource_id") init[f.localName] = realId(targets.clusterIds);
    else if (f.name === "name") init[f.localName] = `hostile-${random.int(0, 1_000_000)}`;
    else if (f.name === "labels") init[f.localName] = { env: random.pick(["prod", "dev"]) };
    else if (f.name === "filter") init[f.localName] = random.pick(["", "labels.env = 'prod'", "status.phase = 'NotReady' and generation > 0"]);
    else if (f.name === "page_size") init[f.localName] = random.int(0, 50);
    else if (f.name === "adapter") init[f.localName] = random.pick(["validation", "dns", "placement", "nodepool"]);
    else if (f.name === "reason") init[f.localName] = "hostile input suite";
    else if (f.name === "observed_generation") init[f.localName] = BigInt(random.int(1, 3));
    else if (f.name === "observed_time") init[f.localName] = { seconds: 1_767_225_600n + BigInt(random.int(0, 86_400)), nanos: 0 };
    else if (f.name === "conditions") init[f.localName] = ["Applied", "Available", "Health"].map((type) => ({ type, status: random.int(1, 4), reason: "Hostile", message: "" }));
    else if (f.name === "update_mask") init[f.localName] = { paths: [random.pick(["labels", "spec"])] };
    else if (f.name === "view") init[f.localName] = random.int(0, 3);
    else if (f.name === "show_deleted") init[f.localName] = random.next() < 0.5;
    else if (structField(m) === f) init[f.localName] = { region: "us-east-1", replicas: random.int(1, 5) } satisfies JsonObject;
  }
  return init;
}

/** A UUID-shaped id (version 7 layout) from the random stream: one no resource has. */
function uuidFrom(random: SeededRandom): string {
  const hex = Array.from({ length: 32 }, () => random.int(0, 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
