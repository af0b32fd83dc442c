import { createDb, migrate, type Knex } from "../../services/api/store/db.js";
import { createTempDatabase } from "./temp-database.js";

/** A fresh, migrated database for store-level tests, and its teardown. */
export async function migratedDatabase(): Promise<{ db: Knex; drop: () => Promise<void> }> {
  const temp = await createTempDatabase();
  const db = createDb({ url: temp.url });
  await migrate(db);
  return {
    db,
    async drop() {
      await db.destroy();
      await temp.drop();
    },
  };
}
