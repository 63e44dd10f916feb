import type { Knex } from 'knex';
import { Product } from './product.model.ts';

let sequence = 0;

/** Test factory: inserts a product straight into the database; every field has a default. */
export async function makeProduct(db: Knex, overrides: Partial<Pick<Product, 'name' | 'price' | 'isActive' | 'createdAt'>> = {}): Promise<Product> {
  sequence += 1;
  return Product.query(db)
    .insert({ name: `Product ${sequence}`, price: '10.00', ...overrides })
    .returning('*');
}
