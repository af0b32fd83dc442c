import type { Knex } from "knex";

/** NodePools, owned by clusters; the same status columns and indexes as clusters. */
export async function up(db: Knex): Promise<void> {
  await db.raw(`
    create table nodepools (
      id uuid primary key,
      cluster_id uuid not null references clusters (id) on delete cascade,
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
    create unique index nodepools_live_name on nodepools (cluster_id, name) where deleted_time is null;
    create index nodepools_cluster on nodepools (cluster_id, id);
    create index nodepools_labels on nodepools using gin (labels jsonb_path_ops);
    create index nodepools_phase_last_updated on nodepools (phase, last_updated_time);
    create index nodepools_generation_ahead on nodepools (id) where generation > observed_generation;
  `);
}

export async function down(db: Knex): Promise<void> {
  await db.raw("drop table nodepools;");
}
