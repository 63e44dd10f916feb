import type { Knex } from 'knex';

/**
 * Why: a search term made of words that occur in nearly every name ("Product 500000 " when
 * every name starts with "Product") made the trigram index read the posting lists of all
 * their trigrams: ~150 ms at a million rows. A word index answers the term's whole words
 * instead (the rare one decides: GIN skips through the common one), and the substring
 * match only rechecks the few rows found (lib/text-search.ts, docs/lists.md).
 *
 * Built CONCURRENTLY (hence `transaction: false`) so writes go on during the build; a
 * leftover invalid index from a failed run is dropped first.
 */
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX CONCURRENTLY IF EXISTS products_name_words');
  await knex.raw(`CREATE INDEX CONCURRENTLY products_name_words ON products USING gin (to_tsvector('simple', name)) WHERE is_active`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX CONCURRENTLY IF EXISTS products_name_words');
}
