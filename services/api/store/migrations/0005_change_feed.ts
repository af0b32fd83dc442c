import type { Knex } from "knex";

/**
 * The change feed behind WatchClusters and WatchNodePools (store/change-feed.ts). Every insert or
 * update stamps the row with the id of the transaction that wrote it (`change_xid`, 64-bit, never
 * wraps) and rings `hyperfleet_changes`; every removal leaves a tombstone. A watcher's resume token
 * is a Postgres snapshot: the changes since are exactly the rows and tombstones whose transaction
 * that snapshot does not see, whatever order transactions committed in, and whichever API replica
 * wrote them. NOTIFY is only the doorbell: a lost one delays a change, never loses it.
 * Existing rows get 0, which every snapshot sees: they have not changed since.
 *
 * `available_adapters`: how many required adapters are Available at the current generation, written
 * with the rest of the computed status (aggregate.ts). A bounded number the STATUS view carries, so
 * that the Sentinel sees a dependency become Available (and publishes at once) without reading
 * conditions. (A generated column reading the conditions with jsonpath cost Postgres about half as
 * much CPU again per status report.) Existing rows get 0 until their next report: no event is lost,
 * the first one only comes a max age later.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw(`
    create function hyperfleet_stamp_change() returns trigger language plpgsql as $$
    begin
      new.change_xid := pg_current_xact_id();
      return new;
    end $$;

    create table watch_tombstones (
      kind text not null,
      id uuid not null,
      cluster_id uuid,
      removed_xid xid8 not null default pg_current_xact_id(),
      removed_time timestamptz not null default now()
    );
    create index watch_tombstones_xid on watch_tombstones (kind, removed_xid);
    create index watch_tombstones_time on watch_tombstones (removed_time);

    create function hyperfleet_stamp_removal() returns trigger language plpgsql as $$
    begin
      insert into watch_tombstones (kind, id, cluster_id) values (tg_table_name, old.id, (to_jsonb(old) ->> 'cluster_id')::uuid);
      return old;
    end $$;
  `);
  for (const table of ["clusters", "nodepools"]) {
    await db.raw(`
      alter table ${table} add column change_xid xid8 not null default '0';
      alter table ${table} add column available_adapters integer not null default 0;
      create index ${table}_change_xid on ${table} (change_xid);
      -- The report path sets change_xid itself (status-store.ts WRITE_SQL): the WHEN clause, checked
      -- without calling PL/pgSQL, then skips the function. Every other write is stamped by it.
      create trigger ${table}_stamp_insert before insert on ${table} for each row execute function hyperfleet_stamp_change();
      create trigger ${table}_stamp_change before update on ${table} for each row when (new.change_xid is not distinct from old.change_xid) execute function hyperfleet_stamp_change();
      create trigger ${table}_stamp_removal after delete on ${table} for each row execute function hyperfleet_stamp_removal();
    `);
  }
}

export async function down(db: Knex): Promise<void> {
  for (const table of ["clusters", "nodepools"]) {
    await db.raw(`
      drop trigger ${table}_stamp_removal on ${table};
      drop trigger ${table}_stamp_change on ${table};
      drop trigger ${table}_stamp_insert on ${table};
      drop index ${table}_change_xid;
      alter table ${table} drop column change_xid;
      alter table ${table} drop column available_adapters;
    `);
  }
  await db.raw("drop table watch_tombstones; drop function hyperfleet_stamp_removal(); drop function hyperfleet_stamp_change();");
}
