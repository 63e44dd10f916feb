import { getTRPCErrorFromUnknown, initTRPC } from '@trpc/server';
import superjson from 'superjson';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { ZodType } from 'zod';
import { AppError, fromDatabaseError, HTTP_STATUS, toErrorBody, toTRPCError } from '../errors.ts';
import type { Access } from './access.ts';
import { doorOf, timingsOf } from '../observability/http-hooks.ts';
import { endProcedureCall, observeProcedure, startProcedureCall, type ObservedCall, type ProcedureCall } from '../observability/procedure-calls.ts';
import { isTracing } from '../observability/tracing.ts';
import { inlined, type MiddlewareResult } from './compiled.ts';
import type { Context } from './context.ts';

export type { Access } from './access.ts';

/** Procedure metadata: the REST route (trpc-to-openapi) and the access rule. */
export type Meta = OpenApiMeta & {
  access?: Access;
  /** REST status on success when not 200 (201 created, 202 accepted, 204 no content). */
  successStatus?: 201 | 202 | 204;
  /**
   * What this procedure's rate limit counts, e.g. "sign-ups per client IP". The OpenAPI
   * document derives its 429 (with Retry-After) from it; the service does the counting.
   */
  rateLimited?: string;
  /**
   * Mutations honour `Idempotency-Key` (server/trpc/idempotency.ts) unless this is false:
   * for a mutation whose stored response would be a secret (auth.signIn's session token)
   * and whose repetition is harmless. The header is then ignored.
   */
  idempotency?: false;
  /**
   * The output carries the resource's `version`: the response gets a strong ETag, and a
   * query answers If-None-Match with 304 (server/trpc/conditional.ts).
   */
  etag?: true;
  /**
   * The input has an `ifVersion` field (server/lib/row-version.ts), filled from If-Match
   * on REST. 'required': a call without either is refused with 428.
   */
  ifMatch?: 'optional' | 'required';
  /**
   * A subscription's REST door (trpc-to-openapi cannot describe subscriptions, so
   * `openapi` stays unset): `GET <path>` answers `text/event-stream`, one `event`
   * schema per event (docs/live.md).
   */
  stream?: StreamMeta;
};

/** How a subscription is served and described on REST. */
export interface StreamMeta {
  /** `/reports/{id}/events`: path parameters come from the input, like a procedure's. */
  path: `/${string}`;
  tags?: string[];
  summary: string;
  description?: string;
  /** What each event's `data:` is (the refetch event is added to it). */
  event: ZodType;
}

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

/**
 * tRPC treats any error that is not a TRPCError as an unexpected fault (code
 * INTERNAL_SERVER_ERROR, logged as a failure). Domain code throws AppError kinds,
 * so they are turned into TRPCErrors with their own code here, once, for every
 * procedure: the JSON-RPC code matches, and a 404 or 409 is not logged as a crash.
 */
function asTRPCErrors<R extends { ok: boolean; error?: { cause?: unknown } }>(result: R): R {
  if (!result.ok && result.error!.cause instanceof AppError) throw toTRPCError(result.error!.cause);
  const badText = result.ok ? undefined : fromDatabaseError(result.error!.cause);
  if (badText) throw toTRPCError(badText);
  return result;
}

const procedureCall = (path: string, ctx: Context | undefined): ProcedureCall => ({ path, door: doorOf(ctx?.req) ?? 'internal', userId: ctx?.actor?.userId, timings: timingsOf(ctx?.req) });

const appErrorsAsTRPCErrors = inlined(
  t.middleware(({ next, path, ctx }) =>
    // Observed here, the outermost middleware of every procedure, so each call on either
    // door (and through createCaller) gets its span and outcome without another chain level.
    observeProcedure(procedureCall(path, ctx), () => next().then(asTRPCErrors), outcomeCode),
  ),
  {
    // A span makes its own async scope around the rest of the call: that takes the middleware.
    now: () => !isTracing(),
    before: ({ path, ctx }): ObservedCall => startProcedureCall(procedureCall(path, ctx)),
    after(_call, observed, result) {
      let mapped: MiddlewareResult;
      try {
        mapped = asTRPCErrors(result!);
      } catch (error) {
        endProcedureCall(observed, outcomeCode(undefined, error));
        throw error;
      }
      endProcedureCall(observed, outcomeCode(mapped, undefined));
      return mapped;
    },
  },
);

/** OK, or the error code both doors answer a settled call with. */
function outcomeCode(result: { ok: boolean; error?: unknown } | undefined, error: unknown): string {
  if (result?.ok) return 'OK';
  const trpcError = getTRPCErrorFromUnknown(error ?? result?.error);
  return trpcError.cause instanceof AppError ? trpcError.cause.code : trpcError.code;
}

export const router = t.router;
export const middleware = t.middleware;
/** Not for routers: build procedures from procedures.ts, which declares their access. */
export const baseProcedure = t.procedure.use(appErrorsAsTRPCErrors);
export const createCallerFactory = t.createCallerFactory;
