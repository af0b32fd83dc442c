import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** The one place errors become wire errors: ConnectErrors pass through, anything else is Internal. */
export const errorInterceptor: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    throw new ConnectError("internal error", Code.Internal, undefined, undefined, err);
  }
};
