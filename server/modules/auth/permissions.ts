/**
 * The permission catalog: every permission a procedure may require.
 *
 * Adding one is a one-line change here plus a migration that grants it to `admin`
 * (see docs/accounts.md, "Adding a permission"). `tests/auth/permissions.test.ts` fails when
 * a permission listed here is not held by `admin` in the migrated database, so the
 * migration cannot be forgotten.
 */
export const PERMISSIONS = ['products:create', 'products:update', 'products:delete', 'users:manage', 'analytics:read', 'reports:read-all'] as const;

export type Permission = (typeof PERMISSIONS)[number];

const known: ReadonlySet<string> = new Set(PERMISSIONS);

/** Narrows a string read from the database to a Permission this build knows. */
export function isPermission(value: string): value is Permission {
  return known.has(value);
}
