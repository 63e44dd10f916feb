import type { Knex } from 'knex';
import { NotFoundError } from '../../errors.ts';
import type { EventBus } from '../../events/bus.ts';
import type { EventActor } from '../../events/envelope.ts';
import { fetchPage } from '../../lib/pagination.ts';
import { Product } from './product.model.ts';
import type { CreateProductInput, ListProductsInput, ProductDto, ProductPage, UpdateProductInput } from './product.schemas.ts';

/**
 * Products: recipe 1 (CRUD) and recipe 2 (the filtered list). Creating and archiving
 * publish `product.created` / `product.archived` in the same transaction as the write.
 */
export class ProductService {
  constructor(private readonly deps: { db: Knex; events: EventBus }) {}

  /** `actor` (who did it) travels in the event's envelope. */
  async create(input: CreateProductInput, actor?: EventActor): Promise<ProductDto> {
    return this.deps.db.transaction(async (trx) => {
      const product = await Product.query(trx).insert({ name: input.name, price: input.price }).returning('*');
      await this.deps.events.publish(trx, 'product.created', { productId: product.id, name: product.name, price: product.price }, actor);
      return toProductDto(product);
    });
  }

  /** Archived products are gone as far as readers are concerned. */
  async get(id: string): Promise<ProductDto> {
    const product = await Product.query(this.deps.db).findById(id).modify('active');
    if (!product) throw new NotFoundError('Product', id);
    return toProductDto(product);
  }

  /**
   * Works on archived products too, so `isActive: true` restores one; `isActive: false`
   * on an active product archives it, with the same event as `archive`.
   */
  async update({ id, ...patch }: UpdateProductInput, actor?: EventActor): Promise<ProductDto> {
    const changes = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    return this.deps.db.transaction(async (trx) => {
      const before = await Product.query(trx).findById(id).forUpdate();
      if (!before) throw new NotFoundError('Product', id);
      const product = await Product.query(trx).patchAndFetchById(id, changes);
      if (before.isActive && !product.isActive) await this.deps.events.publish(trx, 'product.archived', { productId: id }, actor);
      return toProductDto(product);
    });
  }

  /** Soft delete: the row stays, with is_active false. */
  async archive(id: string, actor?: EventActor): Promise<void> {
    await this.deps.db.transaction(async (trx) => {
      const archived = await Product.query(trx).findById(id).modify('active').patch({ isActive: false });
      if (!archived) throw new NotFoundError('Product', id);
      await this.deps.events.publish(trx, 'product.archived', { productId: id }, actor);
    });
  }

  async list(query: ListProductsInput): Promise<ProductPage> {
    const filtered = Product.query(this.deps.db).modify('active');
    if (query.search) filtered.modify('nameContains', query.search);
    if (query.minPrice !== undefined) filtered.modify('priceAtLeast', query.minPrice);
    if (query.maxPrice !== undefined) filtered.modify('priceAtMost', query.maxPrice);

    const page = await fetchPage(filtered, query, (q) => q.modify('newestFirst'));
    return { ...page, items: page.items.map(toProductDto) };
  }
}

export function toProductDto(p: Product): ProductDto {
  return {
    id: p.id,
    name: p.name,
    price: p.price,
    isActive: p.isActive,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}
