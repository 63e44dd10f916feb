import { PreconditionRequiredError, ValidationError } from '../errors.ts';
import { etagOf, ifNoneMatchMatches, versionFromIfMatch } from '../lib/row-version.ts';
import { appliesWhen } from './compiled.ts';
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
 */
export const conditional = appliesWhen(
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
  if (!meta.etag || !result.ok || ctx.call.batched) return result;
  const version = (result.data as { version?: unknown } | undefined)?.version;
  if (typeof version !== 'number') return result;
  void ctx.reply.header('ETag', etagOf(version));
  const ifNoneMatch = ctx.req.headers['if-none-match'];
  if (type === 'query' && ifNoneMatch !== undefined && ifNoneMatchMatches(ifNoneMatch, version)) ctx.call.notModified = true;
  return result;
  }),
  // It does nothing (calls next() unchanged) for a procedure that declares neither.
  (meta) => !!(meta?.etag || meta?.ifMatch),
);
