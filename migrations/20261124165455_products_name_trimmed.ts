import type { Knex } from 'knex';
import { backfillInBatches } from '../server/db/backfill.ts';

/**
 * Why: the API has always trimmed product names, but nothing stopped a script, a seed
 * or an older version from storing ' Cup ', which then misses exact matches and sorts
 * apart from 'Cup'. PostgreSQL now enforces what the API promises (for spaces).
 *
 * This is the project's pattern for changing data in a table that may be large
 * (docs/migrations.md, "Changing data in a large table"):
 *  1. fix the rows in batches, each committed on its own (hence `transaction: false`);
 *  2. add the constraint NOT VALID: a short lock and no scan, and it already binds new writes;
 *  3. VALIDATE it: a scan that does not block reads or writes.
 * Without a transaction a failure leaves the migration half done and unrecorded, so
 * every step is safe to run again.
 */
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  await backfillInBatches(knex, { table: 'products', set: 'name = btrim(name)', where: 'name <> btrim(name)' });
  await knex.transaction(async (trx) => {
    // Queueing for the table lock behind a long transaction would stall every query
    // queued behind us; better to fail fast and run the migration again.
    await trx.raw(`SET LOCAL lock_timeout = '5s'`);
    await trx.raw('ALTER TABLE products DROP CONSTRAINT IF EXISTS products_name_trimmed');
    await trx.raw(`ALTER TABLE products ADD CONSTRAINT products_name_trimmed CHECK (name = btrim(name)) NOT VALID`);
  });
  await knex.raw('ALTER TABLE products VALIDATE CONSTRAINT products_name_trimmed');
}

/** Drops the constraint; the names stay trimmed (there is nothing to restore them from). */
export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE products DROP CONSTRAINT IF EXISTS products_name_trimmed');
}
