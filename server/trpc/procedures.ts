import { TRPCError } from '@trpc/server';
import { EmailNotVerifiedError, ForbiddenError, UnauthorizedError } from '../errors.ts';
import { needsVerifiedEmail, type Access, type Permission } from './access.ts';
import { conditional } from './conditional.ts';
import { idempotency } from './idempotency.ts';
import { baseProcedure, middleware } from './init.ts';

/**
 * Procedure builders, one per kind of access. After the access check every builder
 * applies retries and concurrent edits as the procedure's meta declares them:
 * conditional requests (ETag, If-Match; conditional.ts), then idempotency keys
 * (idempotency.ts). A module writes none of it.
 *
 * A procedure is built from exactly
 * one of them, and the builder writes its access rule into the procedure's meta,
 * where the OpenAPI document and the access test read it.
 *
 * Each builder also checks, on every call, that the meta still says what the
 * builder enforces: a later `.meta({ access })` cannot make the documentation
 * and the enforcement disagree (the call fails instead, and so does the access test).
 */
function declared(access: Access) {
  return middleware(({ meta, next }) => {
    const actual = meta?.access;
    const same =
      actual?.kind === access.kind && (access.kind !== 'permission' || (actual.kind === 'permission' && actual.permission === access.permission));
    if (!same) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `Procedure meta declares access ${JSON.stringify(actual)} but is built for ${JSON.stringify(access)}` });
    return next();
  });
}

const signedIn = middleware(({ ctx, next }) => {
  if (!ctx.actor) throw ctx.authRejection ?? new UnauthorizedError();
  return next({ ctx: { actor: ctx.actor } });
});

/** Anyone may call it. */
export const publicProcedure = baseProcedure.meta({ access: { kind: 'public' } }).use(declared({ kind: 'public' })).use(conditional).use(idempotency);

/** Needs a valid session (401 without); `ctx.actor` is non-null inside. */
export const authedProcedure = baseProcedure
  .meta({ access: { kind: 'signed-in' } })
  .use(declared({ kind: 'signed-in' }))
  .use(signedIn)
  .use(conditional)
  .use(idempotency);

/**
 * Needs a valid session (401 without) whose user holds `permission` (403 without), and a
 * verified email address when the permission says so (403 EMAIL_NOT_VERIFIED without).
 */
export function requirePermission(permission: Permission) {
  const access: Access = { kind: 'permission', permission };
  const verifiedEmail = needsVerifiedEmail(permission);
  return baseProcedure
    .meta({ access })
    .use(declared(access))
    .use(signedIn)
    .use(({ ctx, next }) => {
      if (!ctx.actor.permissions.has(permission)) throw new ForbiddenError(`Requires permission ${permission}`);
      if (verifiedEmail && !ctx.actor.emailVerified) throw new EmailNotVerifiedError();
      return next();
    })
    .use(conditional)
    .use(idempotency);
}
