import { PreconditionRequiredError, ValidationError } from '../errors.ts';
import { etagOf, ifNoneMatchMatches, versionFromIfMatch } from '../lib/row-version.ts';
import { appliesWhen, inlined, type MiddlewareResult } from './compiled.ts';
import type { Context } from './context.ts';
import type { Meta } from './init.ts';
import { middleware } from './init.ts';

/**
 * Conditional requests from a resource's `version` (docs/retries.md), for procedures
 * whose meta says so:
 * - `etag`: a successful call's output carries `version`; the response gets
 *   `ETag: "<version>"`, and a query whose If-None-Match matches is answered 304 with
 *   no body (the door sends it; `ctx.call.notModified`).
 * - `ifMatch`: the write takes `ifVersion`. On REST it comes from the If-Match header
 *   only; on tRPC from the input (or the header). 'required' refuses a call with
 *   neither (428).
 * ETags and 304 need a call of its own: inside a tRPC batch the headers would describe
 * several resources at once, so they are left out.
 *
 * Compiled calls (server/trpc/compiled.ts) run the ETag part inline on the result, except
 * for a write with If-Match, which replaces the input and keeps the middleware.
 */
export const conditional = appliesWhen(
  inlined(
    middleware(async ({ ctx, type, meta, getRawInput, next }) => {
      if (!meta?.etag && !meta?.ifMatch) return next();
      let result: Awaited<ReturnType<typeof next>>;
      if (meta.ifMatch && type === 'mutation') {
        const raw = await getRawInput();
        const input = raw && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : undefined;
        // The REST contract has only the header; a body field of the same name is not part of it.
        if (input && ctx.call.door === 'rest') delete input.ifVersion;
        const header = ctx.req.headers['if-match'];
        if (header !== undefined && input) {
          if (input.ifVersion !== undefined) {
            throw new ValidationError('Give the version once: If-Match or ifVersion, not both', [{ path: ['ifVersion'], message: 'Also given as If-Match', code: 'custom' }]);
          }
          const version = versionFromIfMatch(header);
          if (version !== undefined) input.ifVersion = version;
        } else if (meta.ifMatch === 'required' && input?.ifVersion === undefined) {
          throw new PreconditionRequiredError();
        }
        result = await next({ getRawInput: async () => input ?? raw });
      } else {
        result = await next();
      }
      return withETag(ctx, type, meta, result);
    }),
    {
      appliesTo: (meta, type) => !(meta?.ifMatch && type === 'mutation'),
      after: ({ ctx, type, meta }, _state, result) => withETag(ctx, type, meta!, result!),
    },
  ),
  // It does nothing (calls next() unchanged) for a procedure that declares neither.
  (meta) => !!(meta?.etag || meta?.ifMatch),
);

/** A successful single call's ETag, and 304 when a query's If-None-Match matches it. */
function withETag<R extends MiddlewareResult | { ok: boolean; data?: unknown }>(ctx: Context, type: string, meta: Meta, result: R): R {
  if (!meta.etag || !result.ok || ctx.call.batched) return result;
  const version = (result.data as { version?: unknown } | undefined)?.version;
  if (typeof version !== 'number') return result;
  void ctx.reply.header('ETag', etagOf(version));
  const ifNoneMatch = ctx.req.headers['if-none-match'];
  if (type === 'query' && ifNoneMatch !== undefined && ifNoneMatchMatches(ifNoneMatch, version)) ctx.call.notModified = true;
  return result;
}
