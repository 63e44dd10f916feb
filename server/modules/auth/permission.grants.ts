import type { Knex } from 'knex';

/**
 * Helpers for migrations that grant or revoke a permission on a seeded role, e.g.
 * a new module's migration giving `admin` its `analytics:read`. Plain knex on
 * purpose: migrations must keep working whatever the models later become.
 */
export async function grantPermissions(knex: Knex, role: string, permissions: readonly string[]): Promise<void> {
  const found = await knex('roles').where({ name: role }).first('id');
  if (!found) throw new Error(`grantPermissions: no role named ${role}`);
  if (!permissions.length) return;
  await knex('role_permissions')
    .insert(permissions.map((permission) => ({ role_id: found.id, permission })))
    .onConflict(['role_id', 'permission'])
    .ignore();
}

export async function revokePermissions(knex: Knex, role: string, permissions: readonly string[]): Promise<void> {
  await knex('role_permissions')
    .whereIn('permission', permissions)
    .whereIn('role_id', knex('roles').select('id').where({ name: role }))
    .delete();
}
