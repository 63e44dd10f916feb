import { Model, type QueryBuilder } from 'objection';
import { modelColumns } from '../../db/model-columns.ts';
import { defineList } from '../../lib/pagination.ts';
import { likeLiteral, searchCondition } from '../../lib/text-search.ts';

/** A row of `products`. Price is NUMERIC(10,2), read and written as a string. */
export class Product extends Model {
  static override tableName = 'products';

  id!: string;
  name!: string;
  price!: string;
  isActive!: boolean;
  createdAt!: Date;
  updatedAt!: Date;

  /** The columns above, for `npm run db:check` (the compiler keeps the two lists equal). */
  static readonly columns = modelColumns<Product>()(['id', 'name', 'price', 'isActive', 'createdAt', 'updatedAt']);

  /** Escapes LIKE's wildcards so a search term only ever matches itself. */
  static likeLiteral = likeLiteral;

  /**
   * `products.list`: active products, newest first. Indexes (migrations/…_list_indexes.ts,
   * plans in docs/lists.md): `products_active_newest_price` walks this order (and answers a
   * price filter from the index alone), `products_active_price` serves narrow price ranges,
   * `products_name_trgm` serves search, `products_name_words` the whole words of a term.
   */
  static readonly list = defineList({
    name: 'products.list',
    table: 'products',
    direction: 'desc',
    keys: [
      { column: 'created_at', type: 'timestamptz' },
      { column: 'id', type: 'uuid' },
    ],
  });

  static override modifiers = {
    active(query: QueryBuilder<Product>) {
      void query.where('products.isActive', true);
    },
    /** `search` semantics: lib/text-search.ts (substring from 3 characters, word start below). */
    nameMatches(query: QueryBuilder<Product>, term: string) {
      void query.whereRaw(...searchCondition('products.name', term, { wordIndex: true }));
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
  };
}
