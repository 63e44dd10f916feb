import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { HTTP_STATUS, toErrorBody } from '../errors.ts';
import type { Context } from './context.ts';

/** Who may call a procedure. Every procedure states one (see procedures.ts). */
export type Access = { kind: 'public' } | { kind: 'signed-in' } | { kind: 'permission'; permission: string };

/** Procedure metadata: the REST route (trpc-to-openapi) and the access rule. */
export type Meta = OpenApiMeta & {
  access?: Access;
  /** REST status on success when not 200 (201 created, 202 accepted, 204 no content). */
  successStatus?: 201 | 202 | 204;
};

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    /**
     * The tRPC error shape carries the same `{ code, message, issues? }` as a REST
     * error body; `data.httpStatus` stays because the tRPC adapter sets the status from it.
     */
    errorFormatter({ shape, error, ctx }) {
      const body = toErrorBody(error, { isProduction: ctx?.isProduction ?? true });
      return {
        code: body.code,
        message: body.message,
        ...(body.issues ? { issues: body.issues } : {}),
        data: { code: body.code, httpStatus: HTTP_STATUS[body.code], path: shape.data.path },
      };
    },
  });

export const router = t.router;
export const middleware = t.middleware;
export const baseProcedure = t.procedure;
export const createCallerFactory = t.createCallerFactory;
