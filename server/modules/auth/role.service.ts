import type { Knex } from 'knex';
import { ValidationError } from '../../errors.ts';
import type { Permission } from '../../trpc/access.ts';
import { Role, UserRole } from './role.model.ts';

/** The role every new user gets. */
export const DEFAULT_ROLE = 'member';

/**
 * Who holds which role, and what each role may do. Roles and their permissions are
 * data (seeded by migrations); the permission names are the app's catalog (every
 * module's manifest `permissions`).
 */
export class RoleService {
  readonly #known: ReadonlySet<string>;

  constructor(private readonly deps: { db: Knex; permissions: readonly Permission[] }) {
    this.#known = new Set(deps.permissions);
  }

  /** Gives a user these roles (on top of any they have), in the caller's transaction. */
  async assign(db: Knex, userId: string, roleNames: readonly string[]): Promise<void> {
    const roles = await this.resolve(db, roleNames);
    if (!roles.length) return;
    await UserRole.query(db)
      .insert(roles.map((r) => ({ userId, roleId: r.id })))
      .onConflict(['userId', 'roleId'])
      .ignore();
  }

  /** Makes a user's roles exactly these, in the caller's transaction. */
  async replace(db: Knex, userId: string, roleNames: readonly string[]): Promise<void> {
    const roles = await this.resolve(db, roleNames);
    await UserRole.query(db).where({ userId }).delete();
    if (roles.length) await UserRole.query(db).insert(roles.map((r) => ({ userId, roleId: r.id })));
  }

  /** Role names per user, sorted; users without roles map to []. */
  async rolesOf(userIds: readonly string[], db: Knex = this.deps.db): Promise<Map<string, string[]>> {
    const result = new Map(userIds.map((id) => [id, [] as string[]]));
    if (!userIds.length) return result;
    const rows = (await UserRole.query(db)
      .select('userRoles.userId', 'roles.name')
      .join('roles', 'roles.id', 'userRoles.roleId')
      .whereIn('userRoles.userId', [...userIds])
      .orderBy('roles.name')) as unknown as { userId: string; name: string }[];
    for (const row of rows) result.get(row.userId)?.push(row.name);
    return result;
  }

  /** The names among these that are in the app's catalog: a user's permissions, with unknown names in the table ignored. */
  known(names: readonly string[]): Set<Permission> {
    return new Set(names.filter((p): p is Permission => this.#known.has(p)));
  }

  /** Every role name that exists, sorted. */
  async names(): Promise<string[]> {
    const rows = await Role.query(this.deps.db).select('name').orderBy('name');
    return rows.map((r) => r.name);
  }

  private async resolve(db: Knex, roleNames: readonly string[]): Promise<Role[]> {
    const wanted = [...new Set(roleNames)];
    if (!wanted.length) return [];
    const roles = await Role.query(db).whereIn('name', wanted);
    const found = new Set(roles.map((r) => r.name));
    const issues = roleNames.flatMap((name, index) =>
      found.has(name) ? [] : [{ path: ['roles', index], message: `No role named ${name}`, code: 'unknown_role' }],
    );
    if (issues.length) throw new ValidationError('Unknown role', issues);
    return roles;
  }
}
