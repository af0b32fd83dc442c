import type { Knex } from "knex";

/** Clusters with their computed status in columns (so filters and the Sentinel's due query use indexes). */
export async function up(db: Knex): Promise<void> {
  await db.raw(`
    create table clusters (
      id uuid primary key,
      name text not null,
      labels jsonb not null default '{}',
      spec jsonb not null,
      generation bigint not null default 1,
      phase text not null default 'NotReady',
      observed_generation bigint not null default 0,
      last_transition_time timestamptz not null,
      last_updated_time timestamptz not null,
      status_conditions jsonb not null default '[]',
      created_time timestamptz not null,
      updated_time timestamptz not null,
      deleted_time timestamptz,
      created_by text not null,
      updated_by text not null,
      deleted_by text
    );
    -- Names are unique among live clusters only: a soft-deleted cluster frees its name (spec §8).
    create unique index clusters_live_name on clusters (name) where deleted_time is null;
    create index clusters_labels on clusters using gin (labels jsonb_path_ops);
    -- The Sentinel's due query: stale NotReady/Ready, and generation ahead of observed_generation.
    create index clusters_phase_last_updated on clusters (phase, last_updated_time);
    create index clusters_generation_ahead on clusters (id) where generation > observed_generation;

    create table adapter_statuses (
      resource_id uuid not null,
      adapter text not null,
      resource_kind text not null,
      observed_generation bigint not null,
      observed_time timestamptz not null,
      conditions jsonb not null,
      data jsonb,
      created_time timestamptz not null,
      last_report_time timestamptz not null,
      primary key (resource_id, adapter)
    );
  `);
}

export async function down(db: Knex): Promise<void> {
  await db.raw("drop table adapter_statuses; drop table clusters;");
}
