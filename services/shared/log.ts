import { pino, type Logger } from "pino";

export type { Logger };

/** A JSON logger for one service: one line per event, `service` on every line, level by name. */
export function createLogger(service: string, level = "info"): Logger {
  return pino({ base: { service }, level, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
