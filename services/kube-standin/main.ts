import { ConfigError } from "../shared/config.js";
import { createLogger } from "../shared/log.js";
import { loadConfig } from "./config.js";
import { createObjectStore } from "./object-store.js";
import { createServer } from "./server.js";
import { createStageRunner } from "./stage-runner.js";
import { BUILTIN_TYPES } from "./resource-types.js";
import { onShutdown } from "../shared/shutdown.js";

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger("kube-standin", config.logLevel);
  const store = createObjectStore();
  for (const name of ["default", "kube-system"]) store.create(BUILTIN_TYPES[0], undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  const stages = createStageRunner(store, config, log);
  const server = createServer({ store, log });
  const port = await server.listen(config.port, config.host);
  stages.start();
  log.info({ url: `http://${config.host}:${port}`, jobDurationMs: config.jobDurationMs, dnsDelayMs: config.dnsDelayMs, speed: config.speed }, "kubernetes stand-in listening");

  onShutdown(log, [() => stages.stop(), () => server.close()]);
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(JSON.stringify({ level: 60, service: "kube-standin", msg: "failed to start", err: String(err?.stack ?? err) }));
  process.exit(1);
});
