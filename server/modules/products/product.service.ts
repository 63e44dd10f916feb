import type { Knex } from 'knex';
import { NotFoundError } from '../../errors.ts';
import { fetchPage } from '../../lib/pagination.ts';
import { Product } from './product.model.ts';
import type { CreateProductInput, ListProductsInput, ProductDto, ProductPage, UpdateProductInput } from './product.schemas.ts';

/** Products: recipe 1 (CRUD) and recipe 2 (the filtered list). */
export class ProductService {
  constructor(private readonly deps: { db: Knex }) {}

  async create(input: CreateProductInput): Promise<ProductDto> {
    const product = await Product.query(this.deps.db).insert({ name: input.name, price: input.price }).returning('*');
    return toProductDto(product);
  }

  /** Archived products are gone as far as readers are concerned. */
  async get(id: string): Promise<ProductDto> {
    const product = await Product.query(this.deps.db).findById(id).modify('active');
    if (!product) throw new NotFoundError('Product', id);
    return toProductDto(product);
  }

  /** Works on archived products too, so `isActive: true` restores one. */
  async update({ id, ...patch }: UpdateProductInput): Promise<ProductDto> {
    const changes = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const product = await Product.query(this.deps.db).patchAndFetchById(id, changes);
    if (!product) throw new NotFoundError('Product', id);
    return toProductDto(product);
  }

  /** Soft delete: the row stays, with is_active false. */
  async archive(id: string): Promise<void> {
    const archived = await Product.query(this.deps.db).findById(id).modify('active').patch({ isActive: false });
    if (!archived) throw new NotFoundError('Product', id);
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
