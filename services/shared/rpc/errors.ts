import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * For services with no domain errors of their own (Sentinel, adapters): ConnectErrors pass through,
 * anything else becomes Internal with a fixed message (the cause is logged by observeInterceptor).
 */
export const passThroughErrors: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    throw new ConnectError("internal error", Code.Internal, undefined, undefined, err);
  }
};
