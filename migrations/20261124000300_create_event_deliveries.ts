import type { Knex } from 'knex';

/**
 * Which subscriber has handled which event. The primary key is the idempotency
 * check of the event bus: a delivery repeated after a crash finds its row and skips.
 * (graphile-worker's own schema is installed by the migrate step, not here: see
 * server/jobs/schema.ts.)
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('event_deliveries', (t) => {
    t.uuid('event_id').notNullable();
    t.string('subscriber', 200).notNullable();
    t.string('event_name', 200).notNullable();
    t.timestamp('handled_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['event_id', 'subscriber']);
  });
  // For pruning old marks by age.
  await knex.raw('CREATE INDEX event_deliveries_handled_at ON event_deliveries (handled_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('event_deliveries');
}
