import type { Knex } from 'knex';

/**
 * Idempotency keys (docs/retries.md): the outcome of a mutation sent with an
 * `Idempotency-Key`, kept so that a retry is answered from here instead of running
 * again. The row is written in the same transaction as the mutation's own writes, so
 * it exists exactly when they committed. One row per (caller scope, key); rows past
 * `expires_at` are ignored and removed by the `idempotency.cleanup` job.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('idempotency_keys', (t) => {
    t.text('scope').notNullable().comment("Whose key: 'user:<id>', or 'anonymous' for calls without a session");
    t.text('key').notNullable();
    t.text('procedure').notNullable();
    t.text('fingerprint').notNullable().comment('SHA-256 of the procedure and its input: the same key with another request is a 422');
    t.smallint('status').notNullable().comment('HTTP status of the stored outcome');
    t.boolean('ok').notNullable().comment('true: `response` is the output (superjson); false: an error body');
    t.text('response').comment('null when the outcome was larger than IDEMPOTENCY_MAX_RESPONSE_BYTES');
    t.integer('response_bytes').notNullable();
    t.jsonb('headers').notNullable().defaultTo('{}').comment('Response headers replayed with the outcome (Location, Retry-After)');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.primary(['scope', 'key']);
    t.index(['expires_at'], 'idempotency_keys_expires_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('idempotency_keys');
}
