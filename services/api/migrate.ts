/**
 * `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database) and exits.
 * Run it before rolling out an API that needs them (docs/running.md, "Upgrading"): it runs without the
 * API's statement timeout, and under an advisory lock, so that two at once are safe (the second waits,
 * then finds nothing to do).
 */
import { ConfigError } from "../shared/config.js";
import { createLogger } from "../shared/log.js";
import { loadConfig } from "./config.js";
import { locateDatabase } from "./database.js";
import { createDb } from "./store/db.js";
import { migrateDatabase } from "./store/schema.js";

async function main(): Promise<void> {
  // It serves no calls: the API's authentication settings are not its business (compose's migrate job has none).
  const config = loadConfig({ ...process.env, AUTH: "none" });
  const log = createLogger("api-migrate", config.logLevel);
  const { url, embedded } = await locateDatabase(config, log);
  // The embedded database takes one connection: migrate on it, with no statement timeout of our own.
  const via = embedded ? createDb({ url, poolMax: 1, preparedStatements: false, statementTimeoutMs: 3_600_000, connectTimeoutMs: config.dbConnectTimeoutMs }) : undefined;
  try {
    const started = performance.now();
    const applied = await migrateDatabase(url, { connectTimeoutMs: config.dbConnectTimeoutMs, log, via });
    const seconds = Math.round(performance.now() - started) / 1000;
    log.info({ applied, seconds }, applied.length > 0 ? "migrations applied" : "nothing to migrate: the schema is up to date");
  } finally {
    await via?.destroy();
    await embedded?.stop();
  }
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(JSON.stringify({ level: 60, service: "api-migrate", msg: "failed", err: String(err?.stack ?? err) }));
  process.exit(1);
});
