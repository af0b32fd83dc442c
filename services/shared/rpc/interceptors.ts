import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../log.js";
import type { RpcMetrics } from "../metrics.js";

/**
 * Logs every RPC (method, code, duration) and counts it. Internal errors are logged with their cause;
 * the client only ever sees the sanitised ConnectError.
 */
export function observeInterceptor(log: Logger, metrics: RpcMetrics): Interceptor {
  // Each method's metric children, looked up once: prom-client otherwise hashes the labels on every call.
  const children = new Map<string, { latency: ReturnType<RpcMetrics["latency"]["labels"]>; ok: ReturnType<RpcMetrics["requests"]["labels"]> }>();
  const childrenOf = (method: string) => {
    let c = children.get(method);
    if (!c) children.set(method, (c = { latency: metrics.latency.labels({ method }), ok: metrics.requests.labels({ method, code: "ok" }) }));
    return c;
  };
  return (next) => async (req) => {
    const method = `${req.service.typeName}/${req.method.name}`;
    const started = process.hrtime.bigint();
    const child = childrenOf(method);
    const end = child.latency.startTimer();
    try {
      const res = await next(req);
      child.ok.inc();
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
