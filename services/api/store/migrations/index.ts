import type { Knex } from "knex";
import * as m0001 from "./0001_clusters_and_statuses.js";
import * as m0002 from "./0002_nodepools.js";
import * as m0003 from "./0003_reconcile_pending.js";
import * as m0004 from "./0004_labels_gin_without_pending_list.js";
import * as m0005 from "./0005_change_feed.js";

const migrations: Record<string, Knex.Migration> = {
  "0001_clusters_and_statuses": m0001,
  "0002_nodepools": m0002,
  "0003_reconcile_pending": m0003,
  "0004_labels_gin_without_pending_list": m0004,
  "0005_change_feed": m0005,
};

/** Migrations compiled in (no directory scanning), applied in name order. */
export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};
