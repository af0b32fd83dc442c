/** The generated row: thousands of malformed requests from the seeded generator, `concurrency` at a time. */
import type { SeededRandom } from "../support/seeded-random.js";
import type { AttackRow } from "./attack-row.js";
import { hostileRequests, type HostileRequest } from "./generator.js";
import type { HostileStack } from "./hostile-stack.js";
import { classify, errorOf, isInternal } from "./outcome.js";

/** How bad an outcome is, for the order of the row's notes; 0 for answers a server may give to bad input. */
function severity(code: string): number {
  if (isInternal(code)) return 4;
  if (code === "client_timeout") return 3;
  if (code.startsWith("rst_") || code === "conn_reset" || code === "no_grpc_status") return 2;
  if (code === "unknown" || (/^http_5\d\d$/.test(code) && code !== "http_505")) return 1;
  return 0;
}

const REQUEST_TIMEOUT_MS = 20_000;

export async function generatedRequests(h: HostileStack, row: AttackRow, random: SeededRandom, count: number, concurrency: number): Promise<void> {
  const requests = hostileRequests(random, count, h.targets);
  const notable = new Map<string, { n: number; severity: number; example: HostileRequest; message: string }>();
  const byChannel = new Map<string, number>();
  const byMutation = new Map<string, { n: number; ms: number; maxMs: number }>();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (const req of requests) {
        const res = await h.wire.send({ ...req, timeoutMs: REQUEST_TIMEOUT_MS, keepBytes: 64 * 1024 });
        const code = classify(req.protocol, res);
        row.record(code);
        const channel = `${req.protocol}/${req.http}`;
        byChannel.set(channel, (byChannel.get(channel) ?? 0) + 1);
        const m = byMutation.get(req.mutation) ?? { n: 0, ms: 0, maxMs: 0 };
        byMutation.set(req.mutation, { n: m.n + 1, ms: m.ms + res.ms, maxMs: Math.max(m.maxMs, res.ms) });
        if (severity(code) > 0) {
          const key = `${code} ← ${req.mutation} ${channel}`;
          const seen = notable.get(key);
          if (seen) seen.n++;
          else notable.set(key, { n: 1, severity: severity(code), example: req, message: messageOf(req, res) });
        }
      }
    }),
  );
  row.note(`seed ${random.seed}; by channel: ${[...byChannel].map(([c, n]) => `${c}:${n}`).join(" ")}`);
  const slowest = [...byMutation].sort((a, b) => b[1].ms - a[1].ms).slice(0, 5);
  row.note(`time by mutation (sum/max s): ${slowest.map(([m, t]) => `${m} ${(t.ms / 1000).toFixed(1)}/${(t.maxMs / 1000).toFixed(1)}`).join(", ")}`);
  for (const [key, { n, example, message }] of [...notable].sort((a, b) => b[1].severity - a[1].severity || b[1].n - a[1].n).slice(0, 15)) {
    row.note(`${key}: ${n}× (e.g. #${example.index} ${example.method} ${example.path.slice(0, 70)}${message ? `: ${message}` : ""})`);
  }
  const timeouts = row.codes.get("client_timeout") ?? 0;
  row.check(timeouts === 0, `${timeouts} requests got no answer within ${REQUEST_TIMEOUT_MS / 1000} s`);
}

function messageOf(req: HostileRequest, res: Parameters<typeof errorOf>[1]): string {
  try {
    const err = errorOf(req.protocol, res);
    if (err) return JSON.stringify(err.rawMessage.slice(0, 100));
  } catch {
    // no readable error
  }
  return res.rstCode ? `RST_STREAM ${res.rstCode}` : "";
}
