import type { Knex } from 'knex';
import { NotFoundError } from '../../errors.ts';
import type { EventPublisher } from '../../events/bus.ts';
import type { EventActor } from '../../events/envelope.ts';
import type { ProductEvents } from './product.events.ts';
import { fetchPage } from '../../lib/pagination.ts';
import { conditionalWriteMissed } from '../../lib/row-version.ts';
import { statementsOf } from '../../db/statements.ts';
import { Product } from './product.model.ts';
import type { ArchiveProductInput, CreateProductInput, ListProductsInput, ProductDto, ProductPage, UpdateProductInput } from './product.schemas.ts';

/** get, create, update and archive run as named statements; the list and the reports use the query builder. */
const statements = statementsOf(Product);

/**
 * Products: CRUD and the filtered list. Creating and archiving
 * publish `product.created` / `product.archived` in the same transaction as the write.
 */
export class ProductService {
  constructor(private readonly deps: { db: Knex; events: EventPublisher<ProductEvents> }) {}

  /** `actor` (who did it) travels in the event's envelope. */
  async create(input: CreateProductInput, actor?: EventActor): Promise<ProductDto> {
    return this.deps.db.transaction(async (trx) => {
      const product = await statements.insert(trx, { name: input.name, price: input.price });
      await this.deps.events.publish(trx, 'product.created', { productId: product.id, name: product.name, price: product.price }, actor);
      return toProductDto(product);
    });
  }

  /** Archived products are gone as far as readers are concerned. */
  async get(id: string): Promise<ProductDto> {
    const product = await statements.findById(this.deps.db, id, { isActive: true });
    if (!product) throw new NotFoundError('Product', id);
    return toProductDto(product);
  }

  /**
   * Works on archived products too, so `isActive: true` restores one; `isActive: false`
   * on an active product archives it, with the same event as `archive`. With `ifVersion`
   * the write applies only to that version (checked by the UPDATE itself).
   */
  async update({ id, ifVersion, ...patch }: UpdateProductInput, actor?: EventActor): Promise<ProductDto> {
    const changes = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    return this.deps.db.transaction(async (trx) => {
      const before = await statements.findById(trx, id, undefined, { forUpdate: true });
      if (!before) throw new NotFoundError('Product', id);
      const product = await statements.patchById(trx, id, changes, { version: ifVersion });
      if (!product) conditionalWriteMissed('Product', id, before.version);
      if (before.isActive && !product.isActive) await this.deps.events.publish(trx, 'product.archived', { productId: id }, actor);
      return toProductDto(product);
    });
  }

  /** Soft delete: the row stays, with is_active false. `ifVersion` as for `update`. */
  async archive({ id, ifVersion }: ArchiveProductInput, actor?: EventActor): Promise<void> {
    await this.deps.db.transaction(async (trx) => {
      const archived = await statements.patchById(trx, id, { isActive: false }, { isActive: true, version: ifVersion });
      if (!archived) conditionalWriteMissed('Product', id, (await statements.findById(trx, id, { isActive: true }))?.version);
      await this.deps.events.publish(trx, 'product.archived', { productId: id }, actor);
    });
  }

  /**
   * How many active products there are and the exact sum of their prices, computed by
   * PostgreSQL NUMERIC. Pass a REPEATABLE READ transaction shared with
   * `activeByName` to get figures that agree with the rows.
   */
  async activeSummary(db: Knex = this.deps.db): Promise<{ count: number; total: string }> {
    const row = (await Product.query(db)
      .modify('active')
      .select(Product.raw('count(*)::int AS count'), Product.raw('coalesce(sum(price), 0.00)::text AS total'))
      .first()) as unknown as { count: number; total: string };
    return { count: row.count, total: row.total };
  }

  /**
   * Every active product, alphabetically, `batchSize` rows at a time (keyset pages),
   * so a caller can stream a catalog of any size.
   */
  async *activeByName(db: Knex = this.deps.db, batchSize = 500): AsyncGenerator<Pick<ProductDto, 'id' | 'name' | 'price'>[]> {
    let after: { name: string; id: string } | undefined;
    for (;;) {
      const query = Product.query(db).modify('active').modify('byName').select('id', 'name', 'price').limit(batchSize);
      if (after) query.modify('afterByName', after);
      const rows = await query;
      if (rows.length === 0) return;
      yield rows.map((r) => ({ id: r.id, name: r.name, price: r.price }));
      if (rows.length < batchSize) return;
      const last = rows[rows.length - 1]!;
      after = { name: last.name, id: last.id };
    }
  }

  async list(query: ListProductsInput): Promise<ProductPage> {
    const { search, minPrice, maxPrice } = query;
    const filtered = Product.query(this.deps.db).modify('active');
    if (search) filtered.modify('nameMatches', search);
    if (minPrice !== undefined) filtered.modify('priceAtLeast', minPrice);
    if (maxPrice !== undefined) filtered.modify('priceAtMost', maxPrice);

    const page = await fetchPage(Product.list, filtered, query, { search, minPrice, maxPrice });
    return { ...page, items: page.items.map(toProductDto) };
  }
}

export function toProductDto(p: Product): ProductDto {
  return {
    id: p.id,
    name: p.name,
    price: p.price,
    isActive: p.isActive,
    version: p.version,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}
