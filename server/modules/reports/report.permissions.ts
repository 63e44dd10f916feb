import { definePermission } from '../../trpc/access.ts';

/** What the reports module checks; granted to `admin` by a migration. */
export const reportPermissions = {
  /**
   * Ask for a report (held by `member` and `admin`). A report is mailed to the account's
   * address and costs the shared worker real work, so the address must be verified.
   */
  request: definePermission('reports:request', { verifiedEmail: true }),
  /** See (and download) every user's reports, not only your own. */
  readAll: definePermission('reports:read-all'),
};
