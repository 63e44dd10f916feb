import { definePermission } from '../../trpc/access.ts';

/** What the analytics module's procedures may require; granted to `admin` by a migration. */
export const analyticsPermissions = {
  read: definePermission('analytics:read'),
};
