import type { Knex } from 'knex';

/**
 * Products, and what keeps their list fast:
 * a trigram index for the substring search and a btree matching the list order.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  await knex.raw(`
    CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.updated_at := now();
      RETURN NEW;
    END;
    $$`);
  await knex.schema.createTable('products', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.string('name', 200).notNullable();
    t.decimal('price', 10, 2).notNullable();
    t.boolean('is_active').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('ALTER TABLE products ADD CONSTRAINT products_price_positive CHECK (price > 0)');
  await knex.raw(`CREATE TRIGGER products_set_updated_at BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION set_updated_at()`);
  await knex.raw('CREATE INDEX products_name_trgm ON products USING gin (name gin_trgm_ops) WHERE is_active');
  await knex.raw('CREATE INDEX products_active_newest ON products (created_at DESC, id DESC) WHERE is_active');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('products');
  await knex.raw('DROP FUNCTION IF EXISTS set_updated_at()');
  await knex.raw('DROP EXTENSION IF EXISTS pg_trgm');
}
