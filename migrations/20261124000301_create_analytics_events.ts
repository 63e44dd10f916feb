import type { Knex } from 'knex';

/**
 * What analytics records: a named event, the user it concerns (no foreign key:
 * analytics outlives accounts and never blocks deleting one), free-form properties,
 * and when it happened. `event_id` is the domain event it was recorded from.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('analytics_events', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.string('name', 200).notNullable();
    t.uuid('user_id').nullable();
    t.jsonb('properties').notNullable().defaultTo(knex.raw(`'{}'::jsonb`));
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.uuid('event_id').nullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // The list reads newest first, optionally for one name or one user.
  await knex.raw('CREATE INDEX analytics_events_newest ON analytics_events (occurred_at DESC, id DESC)');
  await knex.raw('CREATE INDEX analytics_events_name_newest ON analytics_events (name, occurred_at DESC)');
  await knex.raw('CREATE INDEX analytics_events_user_newest ON analytics_events (user_id, occurred_at DESC) WHERE user_id IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('analytics_events');
}
