// The template `npm run db:make -- <name>` copies (these two comment lines are left out).
// It is type-checked and linted with the code, so every new migration starts out valid.
import type { Knex } from 'knex';

/**
 * Why: what this change is for, in a sentence the reviewer can check the code against.
 *
 * Runs in a transaction with the rest of its `db:migrate` run. `down` must undo
 * exactly what `up` did: `npm run db:check` migrates down and up again and compares.
 * Then `npm run db:schema`, and review migrations/schema.sql's diff with this file.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('table_name', (t) => {
    t.string('column_name', 20).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('table_name', (t) => {
    t.dropColumn('column_name');
  });
}
