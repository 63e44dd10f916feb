import type { Knex } from 'knex';

/**
 * File bytes in PostgreSQL, the default report storage (server/storage/postgres.ts),
 * so a file stored by one process can be served by any other without a shared disk.
 *
 * `stored_files` has one row per version of a key: `writing` while its chunks arrive,
 * `current` once complete (at most one per key), `replaced` when a newer version
 * became current (kept a few minutes for readers still streaming it). The bytes are
 * rows of `stored_file_chunks`, 1 MiB each, removed with their version. Chunks are
 * stored EXTERNAL: PDFs are compressed already, so TOAST should not try again.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('stored_files', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.string('key', 255).notNullable();
    t.string('status', 20).notNullable().defaultTo('writing');
    t.bigInteger('size').nullable();
    t.integer('chunks').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Written with every chunk while `writing`; the moment of replacement once `replaced`.
    t.timestamp('touched_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE stored_files
    ADD CONSTRAINT stored_files_status_known CHECK (status IN ('writing', 'current', 'replaced')),
    ADD CONSTRAINT stored_files_complete_has_size CHECK (status = 'writing' OR (size IS NOT NULL AND chunks IS NOT NULL))`);
  await knex.raw(`CREATE UNIQUE INDEX stored_files_one_current ON stored_files (key) WHERE status = 'current'`);
  // Leftover collection looks for old versions that are not current.
  await knex.raw(`CREATE INDEX stored_files_leftovers ON stored_files (touched_at) WHERE status <> 'current'`);
  await knex.raw('CREATE INDEX stored_files_key ON stored_files (key)');

  await knex.schema.createTable('stored_file_chunks', (t) => {
    t.uuid('file_id').notNullable().references('id').inTable('stored_files').onDelete('CASCADE');
    t.integer('seq').notNullable();
    t.binary('data').notNullable();
    t.primary(['file_id', 'seq']);
  });
  await knex.raw('ALTER TABLE stored_file_chunks ALTER COLUMN data SET STORAGE EXTERNAL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('stored_file_chunks');
  await knex.schema.dropTable('stored_files');
}
