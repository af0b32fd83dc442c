import { collect, duration, port, positiveInt, str } from "../shared/config.js";

/** The stand-in's configuration (README, "Configuration"). */
export interface StandinConfig {
  host: string;
  port: number;
  jobDurationMs: number;
  dnsDelayMs: number;
  speed: number;
  logLevel: string;
}

export function loadConfig(env: Record<string, string | undefined>): StandinConfig {
  return collect<StandinConfig>({
    host: str(env, "KUBE_STANDIN_HOST", "127.0.0.1"),
    port: port(env, "KUBE_STANDIN_PORT", 8080),
    jobDurationMs: duration(env, "STANDIN_JOB_DURATION", 20_000),
    dnsDelayMs: duration(env, "STANDIN_DNS_DELAY", 10_000),
    speed: positiveInt(env, "STANDIN_SPEED", 1),
    logLevel: str(env, "LOG_LEVEL", "info"),
  });
}
