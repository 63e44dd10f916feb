import type { Knex } from 'knex';

/**
 * When a user was last seen: touched after `users.me` has responded, best effort.
 * Null until the first visit.
 *
 * A visit is not a change to the account, so the `updated_at` trigger now fires only
 * when something besides `last_seen_at` changes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.timestamp('last_seen_at', { useTz: true });
  });
  await knex.raw('DROP TRIGGER users_set_updated_at ON users');
  await knex.raw(`CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'last_seen_at' - 'updated_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_seen_at' - 'updated_at'))
    EXECUTE FUNCTION set_updated_at()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER users_set_updated_at ON users');
  await knex.raw(`CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at()`);
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('last_seen_at');
  });
}
