import { z } from 'zod';
import { publicProcedure, requirePermission } from '../../trpc/procedures.ts';
import { router } from '../../trpc/init.ts';
import { CreateProductInput, ListProductsInput, ProductIdInput, ProductPageSchema, ProductSchema, UpdateProductInput } from './product.schemas.ts';

const tags = ['products'];

/** tRPC `products.*` ⇄ REST `/api/v1/products`. */
export const productRouter = router({
  list: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/products', tags, summary: 'List active products, newest first', description: 'minPrice must not be greater than maxPrice (400 otherwise).' } })
    .input(ListProductsInput)
    .output(ProductPageSchema)
    .query(({ ctx, input }) => ctx.services.products.list(input)),

  get: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/products/{id}', tags, summary: 'Get an active product' } })
    .input(ProductIdInput)
    .output(ProductSchema)
    .query(({ ctx, input }) => ctx.services.products.get(input.id)),

  create: requirePermission('products:create')
    .meta({ openapi: { method: 'POST', path: '/products', tags, summary: 'Create a product' }, successStatus: 201 })
    .input(CreateProductInput)
    .output(ProductSchema)
    .mutation(({ ctx, input }) => ctx.services.products.create(input, ctx.actor)),

  update: requirePermission('products:update')
    .meta({ openapi: { method: 'PATCH', path: '/products/{id}', tags, summary: 'Change a product (isActive: true restores an archived one)' } })
    .input(UpdateProductInput)
    .output(ProductSchema)
    .mutation(({ ctx, input }) => ctx.services.products.update(input, ctx.actor)),

  delete: requirePermission('products:delete')
    .meta({ openapi: { method: 'DELETE', path: '/products/{id}', tags, summary: 'Archive a product (the row is kept)' }, successStatus: 204 })
    .input(ProductIdInput)
    .output(z.void())
    .mutation(({ ctx, input }) => ctx.services.products.archive(input.id, ctx.actor)),
});
