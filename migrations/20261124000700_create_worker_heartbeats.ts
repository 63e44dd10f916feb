import type { Knex } from 'knex';

/**
 * One row per running graphile-worker pool, refreshed every few seconds
 * (server/jobs/recovery.ts). A pool whose row goes stale has died without unlocking
 * its jobs; the sweep then releases them within minutes instead of graphile-worker's
 * built-in four hours.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('worker_heartbeats', (t) => {
    t.string('pool_id', 100).primary();
    t.string('host', 255).notNullable();
    t.integer('pid').notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['seen_at'], 'worker_heartbeats_seen_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('worker_heartbeats');
}
