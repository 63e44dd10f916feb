import type { Knex } from 'knex';
import { grantPermissions, revokePermissions } from '../server/modules/auth/permission.grants.ts';

/**
 * Why: the account lifecycle (docs/accounts.md). Sessions record where they were
 * started (user agent, IP) and when last used, so a user can tell them apart and revoke
 * them. Users record when their address was verified (existing accounts count as
 * verified: they were made before verification existed, mostly by operators). One table
 * holds the single-use tokens mailed for verification and password reset, as SHA-256
 * hashes only. Requesting a report becomes the permission `reports:request`, which needs
 * a verified address, granted to both seeded roles so nobody loses it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sessions', (t) => {
    t.string('user_agent', 512).nullable();
    t.string('ip', 64).nullable();
    t.timestamp('last_used_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.alterTable('users', (t) => {
    t.timestamp('email_verified_at', { useTz: true }).nullable();
  });
  await knex.raw('UPDATE users SET email_verified_at = created_at');
  await knex.raw(`
    CREATE TABLE account_tokens (
      token_hash bytea PRIMARY KEY CONSTRAINT account_tokens_hash_sha256 CHECK (octet_length(token_hash) = 32),
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      purpose text NOT NULL CONSTRAINT account_tokens_purpose CHECK (purpose IN ('verify-email', 'reset-password')),
      expires_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )
  `);
  await knex.raw('CREATE INDEX account_tokens_user_purpose ON account_tokens (user_id, purpose)');
  await knex.raw('CREATE INDEX account_tokens_expires_at ON account_tokens (expires_at)');
  await grantPermissions(knex, 'admin', ['reports:request']);
  await grantPermissions(knex, 'member', ['reports:request']);
}

export async function down(knex: Knex): Promise<void> {
  await revokePermissions(knex, 'member', ['reports:request']);
  await revokePermissions(knex, 'admin', ['reports:request']);
  await knex.schema.dropTable('account_tokens');
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('email_verified_at');
  });
  await knex.schema.alterTable('sessions', (t) => {
    t.dropColumn('last_used_at');
    t.dropColumn('ip');
    t.dropColumn('user_agent');
  });
}
