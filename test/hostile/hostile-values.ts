/** Values the generator draws from: each pool is a family of inputs a server has been known to mishandle. */

export const BAD_IDS = [
  "not-a-uuid",
  "00000000-0000-0000-0000-00000000000G",
  "0190B5E4-1C2D-7ABC-8DEF-0123456789AB",
  "{0190b5e4-1c2d-7abc-8def-0123456789ab}",
  "0190b5e41c2d7abc8def0123456789ab",
  "' or '1'='1",
  "1; drop table clusters; --",
  "../../../../etc/passwd",
  "%00",
  "null",
  "\u0000",
  "\ud800",
  "\u202e0190b5e4",
  "😀".repeat(40),
  "a".repeat(10_000),
  " ",
];

export const BAD_FILTERS = [
  "(((((",
  "name = ",
  "name = 'unterminated",
  "labels. = 'x'",
  "constructor = 1",
  "__proto__ = 1",
  "toString = 'x'",
  "hasOwnProperty = 1",
  "prototype = 1",
  "labels.__proto__ = 'x'",
  "labels.constructor = 'x'",
  "name = 'a\u0000b'",
  "\u0000",
  "generation > 99999999999999999999999",
  "generation > -1e308",
  "generation = 1.5",
  "status.phase = 'Bogus'",
  "status.last_updated_time < 'not a time'",
  "status.last_updated_time < '99999-01-01T00:00:00Z'",
  "name in ()",
  `name in (${Array.from({ length: 5000 }, (_, i) => `'n${i}'`).join(", ")})`,
  `${"not ".repeat(2000)}name = 'x'`,
  `${"(".repeat(3000)}name = 'x'${")".repeat(3000)}`,
  `${"labels.k = 'v' or ".repeat(800)}name = 'x'`,
  "name = '" + "'".repeat(101),
  'name = "double"',
  "name ~ 'x'",
  "name = 'x'; drop table clusters; --",
  'labels."k" = \'v\'',
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 = 1",
  "\u202ename = 'x'",
  "name = $1",
  "name = ?",
  "generation > status.observed_generation > 1",
  "a".repeat(100_000),
];

export const BAD_PAGE_TOKENS = ["!!!", "AAAA", Buffer.from("not-a-uuid").toString("base64url"), Buffer.from("0190B5E4-1C2D-7ABC-8DEF-0123456789AB").toString("base64url"), "=".repeat(4096), "\u0000"];

export const BAD_CONTENT_TYPES = [
  "",
  "text/plain",
  "application/grpc+json",
  "application/grpc+xml",
  "application/json; charset=latin1",
  "application/proto; charset=utf-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/connect+proto",
  "application/connect+json",
  "application/grpc-web-text",
  "APPLICATION/JSON",
  "application/json;;;",
  "application/" + "x".repeat(2000),
];

export const BAD_GRPC_TIMEOUTS = ["", "abc", "-1S", "1", "999999999H", "1n", "0m", "00000001u", "1.5S", "1S 1S", "18446744073709551616n", "99999999H"];
export const BAD_CONNECT_TIMEOUTS = ["abc", "-5", "1e9", "99999999999", "0", "1.5", "0x10", " 5", "9".repeat(40)];

export const BAD_ENCODINGS = ["gzip", "br", "snappy", "deflate", "identity", "gzip, br", "x".repeat(100), "*"];

/** Paths no unary method has (Health/Watch is left out: a well-formed Watch rightly streams forever). */
export const UNKNOWN_PATHS = [
  "/hyperfleet.v1.ClusterService/Nope",
  "/hyperfleet.v1.Nope/GetCluster",
  "/",
  "/hyperfleet.v1.ClusterService/",
  "/hyperfleet.v1.ClusterService/GetCluster/extra",
  "/HYPERFLEET.V1.CLUSTERSERVICE/GETCLUSTER",
  "/hyperfleet.v1.ClusterService/getCluster",
  "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  "//",
  "/%2e%2e/%2e%2e/",
  "/hyperfleet.v1.SentinelService/GetStatus",
  "/hyperfleet.v1.ClusterService/GetCluster?connect=v1&encoding=json&message=%7B",
  `/${"a".repeat(4000)}`,
];

export const BAD_HTTP_METHODS = ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"];

export const BAD_JSON_TIMESTAMPS = ["not a time", "2026-13-45T99:99:99Z", "9999-12-31T23:59:59.999999999Z", "0000-01-01T00:00:00Z", 12345, { seconds: 1 }, "2026-01-01T00:00:00+25:00", "", null, "1970-01-01T00:00:00.0000000001Z"];
/** [seconds, nanos] outside what a Timestamp may hold. */
export const BAD_BINARY_TIMESTAMPS: [bigint, number][] = [[-62135596801n, 0], [253402300800n, 0], [0n, -1], [0n, 1_000_000_000], [-(2n ** 63n), 0], [2n ** 63n - 1n, 999_999_999]];

export const BAD_JSON_INT64 = ["1e400", "-9223372036854775809", "9223372036854775808", 1.5, "0x10", "", " 1", "NaN", "Infinity", true, [], {}];
export const BAD_JSON_ENUMS = ["NOT_A_VALUE", 99, -1, 1.5, true, "", "RESOURCE_VIEW_FULL\u0000", {}];

/** Wrong-typed JSON values for any field. */
export const WRONG_JSON_TYPES: unknown[] = [123, -1, 1e308, "str", true, null, [], [1, 2], {}, { nested: { x: 1 } }, "\u0000"];

export const BAD_MASK_PATHS = ["", "id", "spec.x", "labels,spec", "generation", "*", "a".repeat(10_000), "labels.env"];
