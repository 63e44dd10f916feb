import type { Knex } from 'knex';
import { UniqueViolationError } from 'objection';
import { ConflictError, NotFoundError } from '../../errors.ts';
import type { EventPublisher } from '../../events/bus.ts';
import { fetchPage } from '../../lib/pagination.ts';
import { conditionalWriteMissed } from '../../lib/row-version.ts';
import type { Actor } from '../../trpc/access.ts';
import { hashPassword } from '../auth/password.ts';
import { DEFAULT_ROLE, type RoleService } from '../auth/role.service.ts';
import type { SessionService } from '../auth/session.service.ts';
import type { UserEvents } from './user.events.ts';
import { User } from './user.model.ts';
import { userPermissions } from './user.permissions.ts';
import type { CurrentUserDto, ListUsersInput, NewUserInput, UpdateMeInput, UserDto, UserPage } from './user.schemas.ts';

/** What sign-in needs to check a password; never leaves the server. */
export interface UserCredentials {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  isActive: boolean;
  emailVerified: boolean;
}

/**
 * Accounts: creation (sign-up and the CLI), the signed-in user's view of itself,
 * and administration (list, roles, deactivation).
 */
export class UserService {
  constructor(private readonly deps: { db: Knex; roles: RoleService; sessions: SessionService; events: EventPublisher<UserEvents> }) {}

  /**
   * Creates an account with the `member` role plus any `extraRoles`, in one
   * transaction. A duplicate email (compared case-insensitively) is a ConflictError.
   */
  async create(input: NewUserInput & { extraRoles?: readonly string[]; emailVerified?: boolean }): Promise<UserDto> {
    // Hash before the transaction: Argon2 takes a while and must not hold a connection.
    const passwordHash = await hashPassword(input.password);
    const user = await this.deps.db.transaction(async (trx) => {
      let created: User;
      try {
        created = await User.query(trx)
          .insert({ email: input.email.trim(), name: input.name.trim(), passwordHash, emailVerifiedAt: input.emailVerified ? new Date() : null })
          .returning('*');
      } catch (error) {
        if (error instanceof UniqueViolationError) throw new ConflictError('An account with this email already exists');
        throw error;
      }
      await this.deps.roles.assign(trx, created.id, [DEFAULT_ROLE, ...(input.extraRoles ?? [])]);
      // Assigning roles moved the version (a user's roles are part of it): read it back.
      created = (await User.query(trx).findById(created.id))!;
      // In the same transaction: a duplicate email rolls back the event with the row.
      await this.deps.events.publish(trx, 'user.created', { userId: created.id, email: created.email, name: created.name });
      return created;
    });
    return this.toDto(user);
  }

  /**
   * Sign-up: the same work whatever the address. The password is hashed first in both
   * cases, then one transaction either creates the account (role member, `user.created`)
   * or, when the address already has one, publishes `user.sign_up_attempted` so its
   * owner is told by mail. The caller learns which it was; the client must not.
   */
  async signUp(input: NewUserInput): Promise<{ created: boolean }> {
    const passwordHash = await hashPassword(input.password);
    return this.deps.db.transaction(async (trx) => {
      const email = input.email.trim();
      const { rows } = await trx.raw<{ rows: { id: string }[] }>(
        'INSERT INTO users (email, name, password_hash) VALUES (?, ?, ?) ON CONFLICT ((lower(email))) DO NOTHING RETURNING id',
        [email, input.name.trim(), passwordHash],
      );
      const inserted = rows[0];
      if (!inserted) {
        const existing = await User.query(trx).modify('byEmail', email).first().select('id');
        // Deleted since the insert saw it: nobody left to tell.
        if (existing) await this.deps.events.publish(trx, 'user.sign_up_attempted', { userId: existing.id });
        return { created: false };
      }
      await this.deps.roles.assign(trx, inserted.id, [DEFAULT_ROLE]);
      await this.deps.events.publish(trx, 'user.created', { userId: inserted.id, email, name: input.name.trim() });
      return { created: true };
    });
  }

  /** Marks the address as verified (inside the caller's transaction); already verified stays as it was. */
  async markEmailVerified(id: string, trx: Knex): Promise<void> {
    await User.query(trx).findById(id).whereNull('emailVerifiedAt').patch({ emailVerifiedAt: new Date() });
  }

  /** Replaces the password hash (inside the caller's transaction, which ends sessions as its caller decides). */
  async setPasswordHash(id: string, passwordHash: string, trx: Knex): Promise<void> {
    await User.query(trx).findById(id).patch({ passwordHash });
  }

  /** For mails about the account: who to write to, or undefined when it is gone or deactivated. */
  async findContact(id: string): Promise<{ id: string; email: string; name: string; emailVerified: boolean } | undefined> {
    const user = await User.query(this.deps.db).findById(id).where('isActive', true).select('id', 'email', 'name', 'emailVerifiedAt');
    return user && { id: user.id, email: user.email, name: user.name, emailVerified: user.emailVerifiedAt !== null };
  }

  async get(id: string): Promise<UserDto> {
    const user = await User.query(this.deps.db).findById(id);
    if (!user) throw new NotFoundError('User', id);
    return this.toDto(user);
  }

  /**
   * The signed-in user, with the permissions the request was checked against.
   * Recording the visit is handed to `afterResponse` when given (the request's
   * `ctx.afterResponse`): losing a touch now and then costs nothing, and the answer
   * does not wait for the write.
   */
  async me(actor: Actor, opts: { afterResponse?: (task: () => Promise<void>) => void } = {}): Promise<CurrentUserDto> {
    const user = await this.get(actor.userId);
    opts.afterResponse?.(() => this.touchLastSeen(actor.userId));
    return { ...user, permissions: [...actor.permissions].sort() };
  }

  /**
   * Changes the signed-in user's own name and phone; `phone: null` removes the number.
   * With `ifVersion` the write applies only to that version (checked by the UPDATE).
   */
  async updateMe(actor: Actor, { ifVersion, ...input }: UpdateMeInput): Promise<CurrentUserDto> {
    const changes = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
    const write = User.query(this.deps.db).where('id', actor.userId);
    if (ifVersion !== undefined) void write.where('version', ifVersion);
    const [user] = (await write.patch(changes).returning('*')) as unknown as User[];
    if (!user) conditionalWriteMissed('User', actor.userId, (await User.query(this.deps.db).findById(actor.userId))?.version);
    return { ...(await this.toDto(user)), permissions: [...actor.permissions].sort() };
  }

  /**
   * Records a visit. At most one write per user per minute: a client polling
   * `users.me` should not turn every read into a row update.
   */
  async touchLastSeen(userId: string): Promise<void> {
    await User.query(this.deps.db)
      .findById(userId)
      .where((q) => q.whereNull('lastSeenAt').orWhereRaw(`last_seen_at < now() - interval '1 minute'`))
      .patch({ lastSeenAt: User.fn.now() as unknown as Date });
  }

  async list(query: ListUsersInput): Promise<UserPage> {
    const filtered = User.query(this.deps.db);
    if (query.search) filtered.modify('nameOrEmailMatches', query.search);
    const page = await fetchPage(User.list, filtered, query, { search: query.search });
    const roles = await this.deps.roles.rolesOf(page.items.map((u) => u.id));
    return { ...page, items: page.items.map((u) => toUserDto(u, roles.get(u.id) ?? [])) };
  }

  /** Replaces a user's roles; takes effect on their next request. */
  async setRoles(id: string, roleNames: readonly string[], actor: Actor): Promise<UserDto> {
    const user = await this.deps.db.transaction(async (trx) => {
      await lockAdministrators(trx);
      const found = await User.query(trx).findById(id).forUpdate();
      if (!found) throw new NotFoundError('User', id);
      const before = (await this.deps.roles.rolesOf([id], trx)).get(id) ?? [];
      await this.deps.roles.replace(trx, id, roleNames);
      await refuseNoAdministrator(trx, 'This change would leave no active user who can manage users');
      const after = (await this.deps.roles.rolesOf([id], trx)).get(id) ?? [];
      if (before.join(',') !== after.join(',')) await this.deps.events.publish(trx, 'user.roles_changed', { userId: id, before, after }, actor);
      // The roles are part of the user's version, which the replacement moved.
      return (await User.query(trx).findById(id))!;
    });
    return this.toDto(user);
  }

  /**
   * Deactivates an account and ends all its sessions, in one transaction: once it
   * commits, none of the user's tokens works anywhere. You cannot deactivate
   * yourself (that is how the last administrator gets locked out).
   */
  async deactivate(id: string, actor: Actor): Promise<UserDto> {
    if (id === actor.userId) throw new ConflictError('You cannot deactivate your own account');
    const user = await this.deps.db.transaction(async (trx) => {
      await lockAdministrators(trx);
      const before = await User.query(trx).findById(id).forUpdate();
      if (!before) throw new NotFoundError('User', id);
      const updated = await User.query(trx).patchAndFetchById(id, { isActive: false });
      await refuseNoAdministrator(trx, 'Deactivating this account would leave no active user who can manage users');
      await this.deps.sessions.invalidateAllForUser(updated.id, trx);
      // Deactivating an inactive account changes nothing, so it tells nobody.
      if (before.isActive) await this.deps.events.publish(trx, 'user.deactivated', { userId: id }, actor);
      return updated;
    });
    return this.toDto(user);
  }

  /** For sign-in and password checks only: the stored hash of the account with this email, active or not. */
  async findCredentials(email: string): Promise<UserCredentials | undefined> {
    const user = await User.query(this.deps.db).modify('byEmail', email).first();
    return user && credentials(user);
  }

  /** The same, by id (changing a password checks the current one). */
  async findCredentialsById(id: string): Promise<UserCredentials | undefined> {
    const user = await User.query(this.deps.db).findById(id);
    return user && credentials(user);
  }

  /** The account behind a session, or undefined when it is gone or deactivated. */
  async findActive(id: string): Promise<{ id: string; email: string; name: string; emailVerified: boolean } | undefined> {
    const user = await User.query(this.deps.db).findById(id).where('isActive', true).select('id', 'email', 'name', 'emailVerifiedAt');
    return user && { id: user.id, email: user.email, name: user.name, emailVerified: user.emailVerifiedAt !== null };
  }

  private async toDto(user: User): Promise<UserDto> {
    const roles = await this.deps.roles.rolesOf([user.id]);
    return toUserDto(user, roles.get(user.id) ?? []);
  }
}

/**
 * Role changes and deactivations take this lock first, so two admins demoting each other
 * at the same moment cannot both see the other still in charge.
 */
async function lockAdministrators(trx: Knex.Transaction): Promise<void> {
  await trx.raw("SELECT pg_advisory_xact_lock(hashtext('users:administrators'))");
}

/**
 * Inside the change's transaction: at least one active user must still hold
 * `users:manage` (through any role), or nobody could ever grant it again. Rolls back with
 * a 409 otherwise.
 */
async function refuseNoAdministrator(trx: Knex.Transaction, message: string): Promise<void> {
  const { rows } = await trx.raw<{ rows: { left: boolean }[] }>(
    `SELECT EXISTS (
       SELECT 1 FROM users u
       JOIN user_roles ur ON ur.user_id = u.id
       JOIN role_permissions rp ON rp.role_id = ur.role_id
       WHERE u.is_active AND rp.permission = ?
     ) AS left`,
    [userPermissions.manage],
  );
  if (!rows[0]?.left) throw new ConflictError(message);
}

const credentials = (u: User): UserCredentials => ({
  id: u.id,
  email: u.email,
  name: u.name,
  passwordHash: u.passwordHash,
  isActive: u.isActive,
  emailVerified: u.emailVerifiedAt !== null,
});

/** The public view of a user: every field but the password hash. */
export function toUserDto(u: User, roles: string[]): UserDto {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    isActive: u.isActive,
    emailVerified: u.emailVerifiedAt !== null,
    phone: u.phone,
    roles,
    version: u.version,
    createdAt: u.createdAt.toISOString(),
    updatedAt: u.updatedAt.toISOString(),
  };
}
