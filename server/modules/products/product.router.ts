import { z } from 'zod';
import { publicProcedure, requirePermission } from '../../trpc/procedures.ts';
import { router } from '../../trpc/init.ts';
import { productPermissions } from './product.permissions.ts';
import type { ProductService } from './product.service.ts';
import { ProductChangesEventSchema, ProductChangesInput } from './product.live.ts';
import { ArchiveProductInput, CreateProductInput, ListProductsInput, ProductIdInput, ProductPageSchema, ProductSchema, UpdateProductInput } from './product.schemas.ts';

const tags = ['products'];

/** tRPC `products.*` ⇄ REST `/api/v1/products`. */
export const productRouter = ({ products }: { products: ProductService }) =>
  router({
    list: publicProcedure
      .meta({ openapi: { method: 'GET', path: '/products', tags, summary: 'List active products, newest first', description: 'minPrice must not be greater than maxPrice (400 otherwise).' } })
      .input(ListProductsInput)
      .output(ProductPageSchema)
      .query(({ input }) => products.list(input)),

    // #region live-subscription
    changes: publicProcedure
      .meta({
        stream: {
          path: '/products/changes',
          tags,
          summary: 'Live: every product created, changed or archived from now on (Server-Sent Events)',
          event: ProductChangesEventSchema,
        },
      })
      .input(ProductChangesInput)
      .subscription(({ input, signal }) => products.changes({ lastEventId: input.lastEventId, signal })),
    // #endregion live-subscription

    get: publicProcedure
      .meta({ openapi: { method: 'GET', path: '/products/{id}', tags, summary: 'Get an active product' }, etag: true })
      .input(ProductIdInput)
      .output(ProductSchema)
      .query(({ input }) => products.get(input.id)),

    create: requirePermission(productPermissions.create)
      .meta({ openapi: { method: 'POST', path: '/products', tags, summary: 'Create a product' }, successStatus: 201 })
      .input(CreateProductInput)
      .output(ProductSchema)
      .mutation(({ ctx, input }) => products.create(input, ctx.actor)),

    update: requirePermission(productPermissions.update)
      .meta({ openapi: { method: 'PATCH', path: '/products/{id}', tags, summary: 'Change a product (isActive: true restores an archived one)' }, etag: true, ifMatch: 'optional' })
      .input(UpdateProductInput)
      .output(ProductSchema)
      .mutation(({ ctx, input }) => products.update(input, ctx.actor)),

    delete: requirePermission(productPermissions.delete)
      .meta({ openapi: { method: 'DELETE', path: '/products/{id}', tags, summary: 'Archive a product (the row is kept)' }, successStatus: 204, ifMatch: 'optional' })
      .input(ArchiveProductInput)
      .output(z.void())
      .mutation(({ ctx, input }) => products.archive(input, ctx.actor)),
  });
