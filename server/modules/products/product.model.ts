import { Model, type QueryBuilder } from 'objection';
import { modelColumns } from '../../db/model-columns.ts';

/** A row of `products`. Price is NUMERIC(10,2), read and written as a string. */
export class Product extends Model {
  static override tableName = 'products';

  id!: string;
  name!: string;
  price!: string;
  isActive!: boolean;
  /** Moves on every change (a trigger owns it): the ETag, and what If-Match compares. */
  version!: number;
  createdAt!: Date;
  updatedAt!: Date;

  /** The columns above, for `npm run db:check` (the compiler keeps the two lists equal). */
  static readonly columns = modelColumns<Product>()(['id', 'name', 'price', 'isActive', 'version', 'createdAt', 'updatedAt']);

  /** Escapes LIKE's wildcards so a search term only ever matches itself. */
  static likeLiteral(term: string): string {
    return term.replace(/[\\%_]/g, (c) => `\\${c}`);
  }

  static override modifiers = {
    active(query: QueryBuilder<Product>) {
      void query.where('isActive', true);
    },
    nameContains(query: QueryBuilder<Product>, term: string) {
      void query.whereRaw(`name ILIKE '%' || ? || '%' ESCAPE '\\'`, [Product.likeLiteral(term)]);
    },
    priceAtLeast(query: QueryBuilder<Product>, min: string) {
      void query.where('price', '>=', min);
    },
    priceAtMost(query: QueryBuilder<Product>, max: string) {
      void query.where('price', '<=', max);
    },
    /** Alphabetical, for printed catalogs; the id breaks ties so keyset pages never repeat or skip a row. */
    byName(query: QueryBuilder<Product>) {
      void query.orderBy([
        { column: 'name', order: 'asc' },
        { column: 'id', order: 'asc' },
      ]);
    },
    /** Rows after `after` in `byName` order (keyset pagination: no OFFSET to rescan). */
    afterByName(query: QueryBuilder<Product>, after: { name: string; id: string }) {
      void query.whereRaw('(name, id) > (?, ?)', [after.name, after.id]);
    },
    /** Newest first; the id breaks ties so pages never repeat or skip a row. */
    newestFirst(query: QueryBuilder<Product>) {
      void query.orderBy([
        { column: 'createdAt', order: 'desc' },
        { column: 'id', order: 'desc' },
      ]);
    },
  };
}
