import type { Knex } from 'knex';

/**
 * Accounts and their sessions.
 *
 * Emails keep the case they were typed in but are unique case-insensitively
 * (a unique index on lower(email); lookups use the same expression).
 * A session row holds its public id and only the SHA-256 of its secret: a copy of
 * this table cannot be replayed as tokens.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.string('email', 254).notNullable();
    t.string('name', 200).notNullable();
    t.text('password_hash').notNullable();
    t.boolean('is_active').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('CREATE UNIQUE INDEX users_email_lower_unique ON users (lower(email))');
  await knex.raw(`CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at()`);

  await knex.schema.createTable('sessions', (t) => {
    t.string('id', 64).primary();
    t.binary('secret_hash').notNullable();
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['user_id'], 'sessions_user_id');
    t.index(['expires_at'], 'sessions_expires_at');
  });
  await knex.raw('ALTER TABLE sessions ADD CONSTRAINT sessions_secret_hash_sha256 CHECK (octet_length(secret_hash) = 32)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sessions');
  await knex.schema.dropTable('users');
}
