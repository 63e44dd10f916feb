import type { Knex } from 'knex';

/**
 * Why: rate-limit counters shared by every server process (one fixed window per key),
 * so N processes do not allow N times the limit. UNLOGGED: counters are worth nothing
 * after a crash (PostgreSQL empties the table then), and skipping the WAL makes each
 * hit cheaper. Rows are swept by the limiter once their window has passed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE UNLOGGED TABLE rate_limits (
      key text PRIMARY KEY,
      count integer NOT NULL,
      reset_at timestamptz NOT NULL
    )
  `);
  await knex.raw('CREATE INDEX rate_limits_reset_at_idx ON rate_limits (reset_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_limits');
}
