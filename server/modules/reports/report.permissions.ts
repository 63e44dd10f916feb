import { definePermission } from '../../trpc/access.ts';

/** What the reports module checks; granted to `admin` by a migration. */
export const reportPermissions = {
  /** See (and download) every user's reports, not only your own. */
  readAll: definePermission('reports:read-all'),
};
