/**
 * Procedures as docs/concepts.md and docs/accounts.md show them. Compiled by
 * `npm run typecheck` against the real builders; the regions are copied into the pages
 * by `npm run docs`.
 */
import { z } from 'zod';
import { productPermissions } from '../../server/modules/products/product.permissions.ts';
import type { ProductService } from '../../server/modules/products/product.service.ts';
import { ProductIdInput, ProductSchema } from '../../server/modules/products/product.schemas.ts';
import { router } from '../../server/trpc/init.ts';
import { authedProcedure, publicProcedure, requirePermission } from '../../server/trpc/procedures.ts';

const tags = ['products'];

// #region procedure
// A module's router is built from the services it uses (here the module's own ProductService).
export const exampleRouter = ({ products }: { products: ProductService }) =>
  router({
    delete: requirePermission(productPermissions.delete)
      .meta({ openapi: { method: 'DELETE', path: '/products/{id}', tags, summary: 'Archive a product (the row is kept)', errorResponses: [404] }, successStatus: 204 })
      .input(ProductIdInput)
      .output(z.void())
      .mutation(({ ctx, input }) => products.archive(input.id, ctx.actor)),
  });
// #endregion procedure

export const accessExamples = ({ products }: { products: ProductService }) =>
  router({
    // #region access
    // anyone
    get: publicProcedure
      .meta({ openapi: { method: 'GET', path: '/products/{id}', tags } })
      .input(ProductIdInput)
      .output(ProductSchema)
      .query(({ input }) => products.get(input.id)),

    // a valid session: 401 without one; ctx.actor is non-null inside
    whoAmI: authedProcedure
      .meta({ openapi: { method: 'GET', path: '/whoami', tags } })
      .input(z.void())
      .output(z.object({ email: z.string() }))
      .query(({ ctx }) => ({ email: ctx.actor.email })),

    // a session whose user holds the permission: 401 without a session, 403 without the permission
    archive: requirePermission(productPermissions.delete)
      .meta({ openapi: { method: 'POST', path: '/products/{id}/archive', tags }, successStatus: 204 })
      .input(ProductIdInput)
      .output(z.void())
      .mutation(({ ctx, input }) => products.archive(input.id, ctx.actor)),
    // #endregion access
  });
