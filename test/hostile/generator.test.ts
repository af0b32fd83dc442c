/**
 * The hostile request generator on its own: a pure function of its seed, covering every method,
 * protocol and mutation, each mutation doing what its name says.
 */
import { createHash } from "node:crypto";
import { API_METHODS, hostileRequests, MUTATIONS, type HostileRequest, type Mutation } from "./generator.js";
import { seededRandom } from "../support/seeded-random.js";

const TARGETS = { clusterIds: ["0190b5e4-1c2d-7abc-8def-0123456789ab"], nodepoolIds: ["0190b5e4-1c2d-7abc-8def-0123456789ac"] };
const SAMPLE = 3000;

const digest = (r: HostileRequest) => createHash("sha256").update(JSON.stringify([r.mutation, r.protocol, r.http, r.method, r.path, r.headers])).update(r.body).digest("hex");
const draw = (seed: number, n: number) => [...hostileRequests(seededRandom("hostile generator test", seed), n, TARGETS)];

let sample: HostileRequest[];
beforeAll(() => {
  sample = draw(1, SAMPLE);
});

test("the same seed gives the same requests byte for byte; another seed, others", () => {
  const a = draw(7, 300).map(digest);
  expect(draw(7, 300).map(digest)).toEqual(a);
  expect(draw(8, 300).map(digest)).not.toEqual(a);
});

test(`${SAMPLE} requests reach every API method, every mutation and every protocol, a third of them over HTTP/1.1`, () => {
  const targets = new Set(sample.map((r) => r.target));
  for (const m of API_METHODS) expect(targets).toContain(`${m.parent.name}/${m.name}`);
  expect(new Set(sample.map((r) => r.mutation))).toEqual(new Set(MUTATIONS));
  expect(new Set(sample.map((r) => r.protocol))).toEqual(new Set(["grpc", "grpc-web", "connect-proto", "connect-json"]));
  const h1 = sample.filter((r) => r.http === "h1").length / SAMPLE;
  expect(h1).toBeGreaterThan(0.25);
  expect(h1).toBeLessThan(0.5);
});

test("no request is larger than 4.5 MB (just past the largest read limit), so a run stays within its time", () => {
  expect(Math.max(...sample.map((r) => r.body.length))).toBeLessThan(4.5 * 1024 * 1024);
});

const API_PATHS = new Set(API_METHODS.map((m) => `/${m.parent.typeName}/${m.name}`));
const CONTENT_TYPES = new Set(["application/grpc+proto", "application/grpc-web+proto", "application/proto", "application/json"]);
const body = (r: HostileRequest) => Buffer.from(r.body).toString("latin1");

/** What each mutation must have done to the request it names (checked on every such request of the sample). */
const RULES: [Mutation, string, (r: HostileRequest) => boolean][] = [
  ["unknown-method", "the path is no API method's", (r) => !API_PATHS.has(r.path)],
  ["bad-content-type", "the content type is none a client of the protocol sends", (r) => !CONTENT_TYPES.has(r.headers["content-type"] ?? "")],
  ["bad-timeout", "a grpc-timeout or connect-timeout-ms header is set", (r) => "grpc-timeout" in r.headers || "connect-timeout-ms" in r.headers],
  ["bad-compression", "a grpc-encoding or content-encoding header is set", (r) => "grpc-encoding" in r.headers || "content-encoding" in r.headers],
  ["bad-http-method", "the HTTP method is not POST", (r) => r.method !== "POST"],
  ["huge-string", "the body is larger than 64 KiB", (r) => r.body.length > 64 * 1024],
  ["deep-nesting", "the body nests 33 levels or more", (r) => r.protocol !== "connect-json" || /(\{"a":|\[){33}/.test(body(r))],
  ["bad-filter", "aimed at a List method", (r) => /\/List(Clusters|NodePools)$/.test(r.path)],
  ["bad-timestamp", "aimed at ReportStatus", (r) => r.path.endsWith("/ReportStatus")],
  ["bad-field-mask", "aimed at an Update method", (r) => /\/Update(Cluster|NodePool)$/.test(r.path)],
  ["many-violations", "aimed at a method with labels or conditions", (r) => /\/(Create|Update)(Cluster|NodePool)$|\/ReportStatus$/.test(r.path)],
  ["bad-envelope", "the body is not exactly one well-framed message", (r) => r.protocol !== "grpc" || r.body.length < 5 || r.body[0] !== 0 || r.body.length !== 5 + Buffer.from(r.body).readUInt32BE(1)],
];

test.each(RULES)("%s: %s", (mutation, _rule, holds) => {
  const of = sample.filter((r) => r.mutation === mutation);
  expect(of.length).toBeGreaterThan(0);
  expect(of.filter((r) => !holds(r)).map((r) => r.index)).toEqual([]);
});
