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
     * tRPC keeps its JSON-RPC envelope (a numeric `code`, which its client checks);
     * inside it, `message` and `data.{ code, issues }` are the same values a REST
     * error body carries. `data.httpStatus` is what the tRPC adapter sets the status from.
     */
    errorFormatter({ shape, error, ctx }) {
      const body = toErrorBody(error, { isProduction: ctx?.isProduction ?? true });
      return {
        code: shape.code,
        message: body.message,
        data: {
          code: body.code,
          httpStatus: HTTP_STATUS[body.code],
          path: shape.data.path,
          ...(body.issues ? { issues: body.issues } : {}),
        },
      };
    },
  });

export const router = t.router;
export const middleware = t.middleware;
export const baseProcedure = t.procedure;
export const createCallerFactory = t.createCallerFactory;
