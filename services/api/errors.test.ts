import { Code } from "@connectrpc/connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { InvalidArgumentError, NotFoundError, type Violation } from "./core/domain-errors.js";
import { toConnectError } from "./errors.js";
import { MAX_VIOLATIONS } from "./limits.js";

const violations = (n: number, field = (i: number) => `labels["k${i}"]`, description = "is bad"): Violation[] =>
  Array.from({ length: n }, (_, i) => ({ field: field(i), description, reason: "KEY" }));

/** The bytes gRPC would send as trailers for this error (grpc-status, grpc-message, grpc-status-details-bin). */
function trailerBytes(err: ReturnType<typeof toConnectError>): number {
  let n = 0;
  setTrailerStatus(new Headers(), err).forEach((v, k) => (n += k.length + v.length));
  return n;
}

describe("toConnectError: InvalidArgument lists at most MAX_VIOLATIONS violations, then 'and N more'", () => {
  test.each([
    [1, 1, ""],
    [MAX_VIOLATIONS, MAX_VIOLATIONS, ""],
    [MAX_VIOLATIONS + 1, MAX_VIOLATIONS + 1, "and 1 more"],
    [40_000, MAX_VIOLATIONS + 1, "and 39980 more"],
  ])("%d violations → %d BadRequest entries %s", (n, entries, more) => {
    const err = toConnectError(new InvalidArgumentError(violations(n)));
    expect(err.code).toBe(Code.InvalidArgument);
    const detail = err.findDetails(BadRequestSchema)[0].fieldViolations;
    expect(detail).toHaveLength(entries);
    expect(detail[0]).toMatchObject({ field: 'labels["k0"]', description: "is bad", reason: "KEY" });
    if (more) {
      expect(detail.at(-1)).toMatchObject({ field: "", description: more, reason: "TRUNCATED" });
      expect(err.rawMessage).toMatch(new RegExp(`; ${more}$`));
    } else {
      expect(err.rawMessage).not.toMatch(/more/);
    }
    expect(err.rawMessage.length).toBeLessThan(1000);
  });

  test("Regression guard: ~150 violations made trailers over 64 KB (the client saw 'stream reset'); long ones are clipped", () => {
    const long = violations(200, (i) => `labels["${"€".repeat(10_000)}${i}"]`, "ü".repeat(10_000));
    const err = toConnectError(new InvalidArgumentError(long));
    const detail = err.findDetails(BadRequestSchema)[0].fieldViolations;
    expect(detail[0].field.length).toBeLessThanOrEqual(400);
    expect(detail[0].description.length).toBeLessThanOrEqual(512);
    expect(detail.at(-1)?.reason).toBe("TRUNCATED");
    expect(trailerBytes(err)).toBeLessThan(24 * 1024);
    // And the trailers still decode to the same error.
    const back = findTrailerError(setTrailerStatus(new Headers(), err));
    expect(back?.findDetails(BadRequestSchema)[0].fieldViolations).toEqual(detail);
  });

  test("the worst list of ordinary violations fits the trailers too", () => {
    const err = toConnectError(new InvalidArgumentError(violations(1000, (i) => `conditions[${i}].message`, "must be at most 4096 characters (got 4097)")));
    expect(trailerBytes(err)).toBeLessThan(24 * 1024);
  });

  test("a clipped field never splits a surrogate pair", () => {
    const err = new InvalidArgumentError([{ field: "😀".repeat(1000), description: "x", reason: "R" }]);
    expect(/\p{Cs}/u.test(err.violations[0].field)).toBe(false);
  });

  test("NotFound quotes a hostile id only briefly", () => {
    const err = toConnectError(new NotFoundError("cluster", "x".repeat(1_000_000)));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage.length).toBeLessThan(100);
  });
});
