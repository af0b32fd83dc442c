import { createLogger } from "../shared/log.js";
import { loadConfig } from "./config.js";
import { openDatabase } from "./database.js";

/** `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database) and exits. */
const config = loadConfig(process.env);
const log = createLogger("api-migrate", config.logLevel);
const { db, reportsDb, embedded } = await openDatabase(config, log);
await db.destroy();
if (reportsDb !== db) await reportsDb.destroy();
await embedded?.stop();
