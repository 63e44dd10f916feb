import type { Knex } from 'knex';
import { hashPassword } from '../auth/password.ts';
import { Role, UserRole } from '../auth/role.model.ts';
import { User } from './user.model.ts';

let sequence = 0;

export const DEFAULT_PASSWORD = 'correct horse battery staple';
// Argon2 is slow on purpose; the default password is hashed once per test file.
let defaultHash: Promise<string> | undefined;

export interface MadeUser {
  id: string;
  email: string;
  name: string;
  /** The plain password, for signing in over HTTP. */
  password: string;
  isActive: boolean;
  roles: string[];
}

/**
 * Test factory: inserts a user with roles (default `member`) straight into the database.
 * Roles must exist (seeded: `admin`, `member`; or made with `makeRole`).
 */
export async function makeUser(
  db: Knex,
  opts: { email?: string; name?: string; password?: string; roles?: string[]; isActive?: boolean; emailVerified?: boolean } = {},
): Promise<MadeUser> {
  sequence += 1;
  const password = opts.password ?? DEFAULT_PASSWORD;
  const passwordHash = opts.password === undefined ? await (defaultHash ??= hashPassword(DEFAULT_PASSWORD)) : await hashPassword(password);
  const roles = opts.roles ?? ['member'];
  const user = await User.query(db)
    .insert({
      email: opts.email ?? `user${sequence}-${process.pid}@example.com`,
      name: opts.name ?? `User ${sequence}`,
      passwordHash,
      isActive: opts.isActive ?? true,
      // Verified unless a test says otherwise: most tests are about something else.
      emailVerifiedAt: opts.emailVerified === false ? null : new Date(),
    })
    .returning('*');
  if (roles.length) {
    const found = await Role.query(db).whereIn('name', roles);
    if (found.length !== new Set(roles).size) throw new Error(`makeUser: unknown role in ${roles.join(', ')}`);
    await UserRole.query(db).insert(found.map((r) => ({ userId: user.id, roleId: r.id })));
  }
  return { id: user.id, email: user.email, name: user.name, password, isActive: user.isActive, roles: [...roles].sort() };
}
