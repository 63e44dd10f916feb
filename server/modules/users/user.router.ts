import { z } from 'zod';
import { router } from '../../trpc/init.ts';
import { authedProcedure, requirePermission } from '../../trpc/procedures.ts';
import { CurrentUserSchema, ListUsersInput, SetRolesInput, UpdateMeInput, UserIdInput, UserPageSchema, UserSchema } from './user.schemas.ts';

const tags = ['users'];

/** tRPC `users.*` ⇄ REST `/api/v1/users`. */
export const userRouter = router({
  me: authedProcedure
    .meta({ openapi: { method: 'GET', path: '/users/me', tags, summary: 'The signed-in user, with roles and permissions' } })
    .input(z.void())
    .output(CurrentUserSchema)
    .query(({ ctx }) => ctx.services.users.me(ctx.actor, { afterResponse: ctx.afterResponse })),

  updateMe: authedProcedure
    .meta({ openapi: { method: 'PATCH', path: '/users/me', tags, summary: 'Change your own name or phone (null removes the phone)' } })
    .input(UpdateMeInput)
    .output(CurrentUserSchema)
    .mutation(({ ctx, input }) => ctx.services.users.updateMe(ctx.actor, input)),

  list: requirePermission('users:manage')
    .meta({ openapi: { method: 'GET', path: '/users', tags, summary: 'List users, oldest first' } })
    .input(ListUsersInput)
    .output(UserPageSchema)
    .query(({ ctx, input }) => ctx.services.users.list(input)),

  setRoles: requirePermission('users:manage')
    .meta({ openapi: { method: 'PUT', path: '/users/{id}/roles', tags, summary: "Replace a user's roles (effective on their next request)" } })
    .input(SetRolesInput)
    .output(UserSchema)
    .mutation(({ ctx, input }) => ctx.services.users.setRoles(input.id, input.roles)),

  deactivate: requirePermission('users:manage')
    .meta({ openapi: { method: 'POST', path: '/users/{id}/deactivate', tags, summary: 'Deactivate a user and end all their sessions', errorResponses: { 409: 'You cannot deactivate yourself' } } })
    .input(UserIdInput)
    .output(UserSchema)
    .mutation(({ ctx, input }) => ctx.services.users.deactivate(input.id, ctx.actor)),
});
