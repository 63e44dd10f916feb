import type { Permission } from './permissions.ts';

/**
 * The signed-in user behind a request, as procedures see it (`ctx.actor`).
 * Permissions are read from the database on every request, so a role change or a
 * deactivation takes effect at once.
 */
export interface Actor {
  userId: string;
  email: string;
  name: string;
  /** The session's public id (not its token, not its hash). */
  sessionId: string;
  permissions: ReadonlySet<Permission>;
}
