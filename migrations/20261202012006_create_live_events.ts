import type { Knex } from 'knex';

/**
 * Why: live subscriptions (docs/live.md) resume from a bounded log of recent change
 * events. Each row is one event on one topic (`products`, `report:<id>`, `user:<id>`);
 * a reconnecting client asks for the rows of its topic after its last event id, so
 * (topic, id) is the index. `live_log_horizon` holds the highest id pruned so far: an
 * id below it may have lost events, and its client is told to refetch.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE live_events (
      id bigserial PRIMARY KEY,
      topic text NOT NULL,
      data jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX live_events_topic_id ON live_events (topic, id)');
  await knex.raw('CREATE INDEX live_events_created_at ON live_events (created_at)');
  await knex.raw(`
    CREATE TABLE live_log_horizon (
      only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
      pruned_through bigint NOT NULL DEFAULT 0
    )`);
  await knex.raw('INSERT INTO live_log_horizon DEFAULT VALUES');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE live_log_horizon');
  await knex.raw('DROP TABLE live_events');
}
