import type { Knex } from 'knex';
import { Role } from './role.model.ts';

/** Test factory: creates a role holding exactly these permissions (names are not checked against the catalog). */
export async function makeRole(db: Knex, name: string, permissions: readonly string[]): Promise<void> {
  const role = await Role.query(db).insert({ name }).returning('*');
  if (permissions.length) await db('role_permissions').insert(permissions.map((permission) => ({ roleId: role.id, permission })));
}
