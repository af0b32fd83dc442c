/** `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database) and exits. */
import { ConfigError } from "../shared/config.js";
import { createLogger } from "../shared/log.js";
import { loadConfig } from "./config.js";
import { openDatabase } from "./database.js";

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger("api-migrate", config.logLevel);
  const { db, reportsDb, embedded } = await openDatabase(config, log);
  await db.destroy();
  if (reportsDb !== db) await reportsDb.destroy();
  await embedded?.stop();
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(JSON.stringify({ level: 60, service: "api-migrate", msg: "failed", err: String(err?.stack ?? err) }));
  process.exit(1);
});
