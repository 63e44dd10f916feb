import { definePermission } from '../../trpc/access.ts';

/** What the users module's procedures may require; granted to `admin` by a migration. */
export const userPermissions = {
  manage: definePermission('users:manage'),
};
