import { definePermission } from '../../trpc/access.ts';

/** What the products module's procedures may require; granted to `admin` by a migration. */
export const productPermissions = {
  create: definePermission('products:create'),
  update: definePermission('products:update'),
  delete: definePermission('products:delete'),
};
