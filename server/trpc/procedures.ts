import { TRPCError } from '@trpc/server';
import { EmailNotVerifiedError, ForbiddenError, UnauthorizedError } from '../errors.ts';
import { needsVerifiedEmail, type Access, type Permission } from './access.ts';
import { checkedAtStartup, guardedBy } from './compiled.ts';
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
 * Each builder also checks that the meta still says what the builder enforces: a
 * later `.meta({ access })` cannot make the documentation and the enforcement disagree.
 * The doors check it once per procedure when they compile the procedures
 * (server/trpc/compiled.ts): the app does not start. A call made any other way
 * (`createCaller`) checks it per call and fails.
 */
function declared(access: Access) {
  const check = (meta: { access?: Access } | undefined, path?: string) => {
    const actual = meta?.access;
    const same =
      actual?.kind === access.kind && (access.kind !== 'permission' || (actual.kind === 'permission' && actual.permission === access.permission));
    if (!same) {
      throw new TRPCError({
        code: 'INTERNAL_SERVER_ERROR',
        message: `Procedure ${path ? `${path} ` : ''}meta declares access ${JSON.stringify(actual)} but is built for ${JSON.stringify(access)}`,
      });
    }
  };
  return checkedAtStartup(
    middleware(({ meta, next }) => {
      check(meta);
      return next();
    }),
    check,
  );
}

const requireActor = (ctx: { actor: unknown; authRejection: unknown }) => {
  if (!ctx.actor) throw ctx.authRejection ?? new UnauthorizedError();
};
// `next({ ctx: { actor } })` only narrows the type: the context's values stay the same.
const signedIn = guardedBy(
  middleware(({ ctx, next }) => {
    requireActor(ctx);
    return next({ ctx: { actor: ctx.actor! } });
  }),
  requireActor,
);

/** Anyone may call it. */
export const publicProcedure = baseProcedure.meta({ access: { kind: 'public' } }).use(declared({ kind: 'public' })).use(conditional).use(idempotency);

/** Needs a valid session (401 without); `ctx.actor` is non-null inside. */
export const authedProcedure = baseProcedure
  .meta({ access: { kind: 'signed-in' } })
  .use(declared({ kind: 'signed-in' }))
  .use(signedIn)
  .use(conditional)
  .use(idempotency);

/** Holds `permission`, and has a verified email address when the permission says so. */
function holds(permission: Permission) {
  const verifiedEmail = needsVerifiedEmail(permission);
  const check = (ctx: { actor: { permissions: ReadonlySet<Permission>; emailVerified?: boolean } }) => {
    if (!ctx.actor.permissions.has(permission)) throw new ForbiddenError(`Requires permission ${permission}`);
    if (verifiedEmail && !ctx.actor.emailVerified) throw new EmailNotVerifiedError();
  };
  return guardedBy(
    middleware(({ ctx, next }) => {
      check(ctx as never);
      return next();
    }),
    check,
  );
}

/**
 * Needs a valid session (401 without) whose user holds `permission` (403 without), and a
 * verified email address when the permission says so (403 EMAIL_NOT_VERIFIED without).
 */
export function requirePermission(permission: Permission) {
  const access: Access = { kind: 'permission', permission };
  return baseProcedure
    .meta({ access })
    .use(declared(access))
    .use(signedIn)
    .use(holds(permission))
    .use(conditional)
    .use(idempotency);
}
