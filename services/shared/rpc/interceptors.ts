import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../log.js";
import type { RpcMetrics } from "../metrics.js";

/**
 * Logs every RPC (method, code, duration) and counts it. Internal errors are logged with their cause;
 * the client only ever sees the sanitised ConnectError.
 */
export function observeInterceptor(log: Logger, metrics: RpcMetrics): Interceptor {
  return (next) => async (req) => {
    const method = `${req.service.typeName}/${req.method.name}`;
    const started = process.hrtime.bigint();
    const end = metrics.latency.startTimer({ method });
    try {
      const res = await next(req);
      metrics.requests.inc({ method, code: "ok" });
      // Not even the line's object at the usual levels: this runs on every call.
      if (log.isLevelEnabled("debug")) log.debug({ method, ms: elapsed(started) }, "rpc");
      return res;
    } catch (err) {
      const ce = ConnectError.from(err);
      const code = Code[ce.code].replace(/^./, (c) => c.toLowerCase());
      metrics.requests.inc({ method, code });
      if (ce.code === Code.Internal || ce.code === Code.Unknown) {
        log.error({ method, code, err: ce.cause ?? err, ms: elapsed(started) }, "rpc failed");
      } else {
        log.info({ method, code, msg: ce.rawMessage, ms: elapsed(started) }, "rpc rejected");
      }
      throw ce;
    } finally {
      end();
    }
  };
}

function elapsed(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}
