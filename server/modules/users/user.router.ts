import { z } from 'zod';
import { router } from '../../trpc/init.ts';
import { authedProcedure, requirePermission } from '../../trpc/procedures.ts';
import type { Permission } from '../../trpc/access.ts';
import { userPermissions } from './user.permissions.ts';
import type { SessionService } from '../auth/session.service.ts';
import {
  currentUserSchema,
  ListUsersInput,
  RevokedSessionsSchema,
  SessionIdInput,
  SessionListSchema,
  SetRolesInput,
  UpdateMeInput,
  UserIdInput,
  UserPageSchema,
  UserSchema,
  type SessionListDto,
} from './user.schemas.ts';
import type { UserService } from './user.service.ts';

const tags = ['users'];

/**
 * tRPC `users.*` ⇄ REST `/api/v1/users`. `permissions` is the app's permission catalog,
 * which the current-user schema enumerates.
 */
export const userRouter = ({ users, sessions }: { users: UserService; sessions: SessionService }, { permissions }: { permissions: readonly Permission[] }) => {
  const CurrentUserSchema = currentUserSchema(permissions);
  return router({
    me: authedProcedure
      .meta({ openapi: { method: 'GET', path: '/users/me', tags, summary: 'The signed-in user, with roles and permissions' }, etag: true })
      .input(z.void())
      .output(CurrentUserSchema)
      .query(({ ctx }) => users.me(ctx.actor, { afterResponse: ctx.afterResponse })),

    updateMe: authedProcedure
      .meta({ openapi: { method: 'PATCH', path: '/users/me', tags, summary: 'Change your own name or phone (null removes the phone)' }, etag: true, ifMatch: 'optional' })
      .input(UpdateMeInput)
      .output(CurrentUserSchema)
      .mutation(({ ctx, input }) => users.updateMe(ctx.actor, input)),

    sessions: authedProcedure
      .meta({ openapi: { method: 'GET', path: '/users/me/sessions', tags, summary: 'Your live sessions (where and when each was started and last used)' } })
      .input(z.void())
      .output(SessionListSchema)
      .query(async ({ ctx }): Promise<SessionListDto> => ({ items: await sessions.list(ctx.actor.userId, ctx.actor.sessionId) })),

    revokeSession: authedProcedure
      .meta({
        openapi: { method: 'DELETE', path: '/users/me/sessions/{id}', tags, summary: 'End one of your sessions (its token stops working at once)' },
        successStatus: 204,
      })
      .input(SessionIdInput)
      .output(z.void())
      .mutation(({ ctx, input }) => sessions.revoke(ctx.actor.userId, input.id)),

    revokeOtherSessions: authedProcedure
      .meta({ openapi: { method: 'POST', path: '/users/me/sessions/revoke-others', tags, summary: 'End every session of yours but this one' } })
      .input(z.void())
      .output(RevokedSessionsSchema)
      .mutation(async ({ ctx }) => ({ revoked: await sessions.invalidateOthers(ctx.actor.userId, ctx.actor.sessionId) })),

    list: requirePermission(userPermissions.manage)
      .meta({ openapi: { method: 'GET', path: '/users', tags, summary: 'List users, oldest first' } })
      .input(ListUsersInput)
      .output(UserPageSchema)
      .query(({ input }) => users.list(input)),

    get: requirePermission(userPermissions.manage)
      .meta({ openapi: { method: 'GET', path: '/users/{id}', tags, summary: 'One user, with roles' }, etag: true })
      .input(UserIdInput)
      .output(UserSchema)
      .query(({ input }) => users.get(input.id)),

    setRoles: requirePermission(userPermissions.manage)
      .meta({
        openapi: {
          method: 'PUT',
          path: '/users/{id}/roles',
          tags,
          summary: "Replace a user's roles (effective on their next request)",
          errorResponses: { 409: 'The change would leave no active user who can manage users' },
        },
      })
      .input(SetRolesInput)
      .output(UserSchema)
      .mutation(({ ctx, input }) => users.setRoles(input.id, input.roles, ctx.actor)),

    deactivate: requirePermission(userPermissions.manage)
      .meta({ openapi: { method: 'POST', path: '/users/{id}/deactivate', tags, summary: 'Deactivate a user and end all their sessions', errorResponses: { 409: 'You cannot deactivate yourself, nor the last active user who can manage users' } } })
      .input(UserIdInput)
      .output(UserSchema)
      .mutation(({ ctx, input }) => users.deactivate(input.id, ctx.actor)),
  });
};
