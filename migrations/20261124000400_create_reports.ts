import type { Knex } from 'knex';

/**
 * Generated reports. A row is written with its generation job in
 * one transaction, then moves pending → processing → ready | failed as the job runs.
 *
 * `email_sent_at` is the once-only mark of the "your report is ready" email: it is
 * set in the transaction that makes the report ready, which stays open while the
 * email is sent, so a retried job never sends it twice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('reports', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('owner_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('kind', 50).notNullable();
    t.string('status', 20).notNullable().defaultTo('pending');
    t.smallint('progress').notNullable().defaultTo(0);
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('error_message');
    t.string('file_path', 300);
    t.bigInteger('file_size');
    t.timestamp('email_sent_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('started_at', { useTz: true });
    t.timestamp('completed_at', { useTz: true });
  });
  await knex.raw(`ALTER TABLE reports
    ADD CONSTRAINT reports_kind_known CHECK (kind IN ('product-catalog')),
    ADD CONSTRAINT reports_status_known CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    ADD CONSTRAINT reports_progress_percent CHECK (progress BETWEEN 0 AND 100),
    ADD CONSTRAINT reports_ready_has_file CHECK (status <> 'ready' OR (file_path IS NOT NULL AND file_size IS NOT NULL AND completed_at IS NOT NULL)),
    ADD CONSTRAINT reports_failed_has_reason CHECK (status <> 'failed' OR (error_message IS NOT NULL AND completed_at IS NOT NULL))`);
  // The owner's list, newest first (reports.list).
  await knex.raw('CREATE INDEX reports_owner_newest ON reports (owner_id, created_at DESC, id DESC)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('reports');
}
