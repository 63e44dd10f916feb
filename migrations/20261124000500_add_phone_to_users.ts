import type { Knex } from 'knex';

/**
 * Why: users can leave a phone number. Nullable, so existing rows
 * need nothing and adding the column is instant; the CHECK holds the same rule as the
 * API's schema (`+` and 7–15 digits, E.164), so no other writer can store what the API
 * would refuse. (The table is small: on a large one, add the CHECK `NOT VALID` and
 * validate it separately; see docs/migrations.md.)
 */
// #region up-down
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('phone', 20).nullable();
  });
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_phone_e164 CHECK (phone ~ '^\\+[0-9]{7,15}$')`);
}

/** Dropping the column drops its constraint with it. */
export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('phone');
  });
}
// #endregion up-down
