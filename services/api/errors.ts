import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  UnavailableError,
} from "./core/domain-errors.js";

/**
 * The one place domain errors become wire errors. InvalidArgument carries a google.rpc.BadRequest
 * detail naming each listed field (at most MAX_VIOLATIONS, InvalidArgumentError caps them), then one
 * entry with an empty field, reason TRUNCATED, "and N more" when some were left out; anything
 * unrecognised is Internal with a fixed message (the cause is logged by the observe interceptor, never sent).
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof InvalidArgumentError) {
    const fieldViolations = err.violations.map((v) => ({ field: v.field, description: v.description, reason: v.reason }));
    if (err.omitted > 0) fieldViolations.push({ field: "", description: `and ${err.omitted} more`, reason: "TRUNCATED" });
    const detail = create(BadRequestSchema, { fieldViolations });
    return new ConnectError(err.message, Code.InvalidArgument, undefined, [{ desc: BadRequestSchema, value: detail }]);
  }
  if (err instanceof NotFoundError) return new ConnectError(err.message, Code.NotFound);
  if (err instanceof AlreadyExistsError) return new ConnectError(err.message, Code.AlreadyExists);
  if (err instanceof FailedPreconditionError) return new ConnectError(err.message, Code.FailedPrecondition);
  if (err instanceof ResourceExhaustedError) return new ConnectError(err.message, Code.ResourceExhausted);
  if (err instanceof UnavailableError) return new ConnectError(err.message, Code.Unavailable, undefined, undefined, err);
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

/** Maps whatever a handler throws through toConnectError. */
export const errorInterceptor: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (err) {
    throw toConnectError(err);
  }
};
