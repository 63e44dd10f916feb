import type { Knex } from 'knex';

/**
 * Why: every list now pages by keyset (server/lib/pagination.ts), so each filter needs an
 * index that yields rows in the list's own order (or finds the few matches fast); the plans
 * at a million rows are in docs/lists.md.
 *
 * - products: the newest-first index carries `price`, so a price filter is checked inside
 *   the index while walking the order; a (price, order) index serves narrow ranges and the
 *   capped count. Search keeps `products_name_trgm` (it also serves 1–2 character terms,
 *   which match the start of a word).
 * - users: the list's order (oldest first) and trigram indexes for search on name and email.
 * - analytics: the name and user indexes end with `id`, the order's tie-break, so the
 *   cursor's row comparison is one index seek.
 *
 * Built CONCURRENTLY (hence `transaction: false`): on a large table a plain CREATE INDEX
 * blocks writes for the whole build. Each step drops a leftover invalid index first, so
 * the migration can simply be run again after a failure.
 */
export const config = { transaction: false };

const created: [name: string, definition: string][] = [
  ['products_active_newest_price', 'products (created_at DESC, id DESC) INCLUDE (price) WHERE is_active'],
  ['products_active_price', 'products (price, created_at DESC, id DESC) WHERE is_active'],
  ['users_oldest', 'users (created_at, id)'],
  ['users_name_trgm', 'users USING gin (name gin_trgm_ops)'],
  ['users_email_trgm', 'users USING gin (email gin_trgm_ops)'],
  ['analytics_events_name_newest_id', 'analytics_events (name, occurred_at DESC, id DESC)'],
  ['analytics_events_user_newest_id', 'analytics_events (user_id, occurred_at DESC, id DESC) WHERE user_id IS NOT NULL'],
];

/** The indexes the new ones replace, with their definitions for `down`. */
const replaced: [name: string, definition: string][] = [
  ['products_active_newest', 'products (created_at DESC, id DESC) WHERE is_active'],
  ['analytics_events_name_newest', 'analytics_events (name, occurred_at DESC)'],
  ['analytics_events_user_newest', 'analytics_events (user_id, occurred_at DESC) WHERE user_id IS NOT NULL'],
];

async function build(knex: Knex, [name, definition]: [string, string]) {
  await knex.raw(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
  await knex.raw(`CREATE INDEX CONCURRENTLY ${name} ON ${definition}`);
}

export async function up(knex: Knex): Promise<void> {
  // New ones first: the lists always have an index to use.
  for (const index of created) await build(knex, index);
  for (const [name] of replaced) await knex.raw(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
}

export async function down(knex: Knex): Promise<void> {
  for (const index of replaced) await build(knex, index);
  for (const [name] of created) await knex.raw(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
}
