import { createHash } from 'node:crypto';
import superjson from 'superjson';
import { AppError, HTTP_STATUS, IdempotencyKeyInUseError, IdempotencyKeyReusedError, toErrorBody, ValidationError, type ErrorBody } from '../errors.ts';
import type { StoredOutcome } from '../db/idempotency-store.ts';
import type { Context } from './context.ts';
import { appliesWhen } from './compiled.ts';
import { middleware } from './init.ts';

/** The request header, as the IETF httpapi draft names it. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Set on every response answered from a stored outcome. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/** Response headers kept with an outcome and replayed with it. */
const KEPT_HEADERS = ['location', 'retry-after'];
/** 1–255 printable ASCII characters, no spaces (a UUID fits). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * Errors that say nothing about the request itself, only about the moment: not stored,
 * so a retry runs. 5xx are never stored either.
 */
const TRANSIENT = new Set([408, 429, 499]);

/** The test-only failpoint (TEST_FAILPOINT) that kills the process right after the keyed commit. */
export const FAILPOINT_AFTER_COMMIT = 'idempotency-after-commit';

class RolledBack {
  constructor(readonly result: unknown) {}
}
class LostRace {}
class NestedFailure {}

/**
 * Idempotency keys for every mutation, on both doors (docs/retries.md). With an
 * `Idempotency-Key` header the call runs inside a request transaction
 * (server/db/request-transaction.ts) that also takes the key and records the outcome,
 * so the record commits exactly when the procedure's writes (and its events and jobs)
 * do. A retry with the same key and the same request is answered from the record (with
 * `Idempotent-Replayed: true`) without running the procedure; while the first is still
 * running it gets 409 with Retry-After; with another request, 422.
 *
 * Runs after the access check (401/403 are never stored: the call did not start) and
 * before input validation (a 400 for bad input is stored and replayed like any 4xx).
 * 5xx and transient 4xx (408, 429) roll the record back with the writes: the key is
 * free again.
 */
export const idempotency = appliesWhen(
  middleware(async ({ ctx, type, path, meta, getRawInput, next }) => {
  const header = ctx.req.headers[IDEMPOTENCY_KEY_HEADER];
  if (type !== 'mutation' || header === undefined || meta?.idempotency === false) return next();
  const key = validKey(header);
  if (ctx.call.batched) {
    throw new ValidationError('An Idempotency-Key covers exactly one call, and this request batches several; send the mutation on its own (tRPC httpLink, or a batch of one)', [
      { path: ['Idempotency-Key'], message: 'Not allowed on a batch of several calls', code: 'invalid_batch' },
    ]);
  }
  const { transactions, idempotency: store, failpoint } = ctx.pipeline;
  // The key is the caller's: another user's identical key is another key. Without a
  // session the fingerprint (which covers the whole input) is what guards the record.
  const scopeKey = ctx.actor ? `user:${ctx.actor.userId}` : 'anonymous';
  const fingerprint = createHash('sha256')
    .update(`${path}\n${canonicalJson(await getRawInput())}`)
    .digest('hex');

  type Outcome = { replay: StoredOutcome } | { result: Awaited<ReturnType<typeof next>> };
  const attempt = (flattenNested: boolean): Promise<Outcome> =>
    transactions.run(
      async (trx, scope) => {
        const claim = await store.claim(trx, scopeKey, key);
        if (!claim.locked) throw new IdempotencyKeyInUseError();
        if (claim.existing) return { replay: claim.existing };

        const result = await next();
        // A service transaction failed inside the call; flattened, it had no savepoint to
        // undo its writes alone, so nothing here may commit.
        if (scope.nestedFailed) throw new NestedFailure();
        const record = toRecord(ctx, result, { procedure: path, fingerprint, successStatus: meta?.successStatus ?? 200, maxBytes: store.opts.maxResponseBytes });
        if (!record) throw new RolledBack(result);
        let saved: boolean;
        try {
          saved = await store.save(trx, scopeKey, key, record);
        } catch {
          // The procedure left the transaction unusable (a failed statement outside its
          // own savepoint): nothing can commit, so nothing is stored and the key stays free.
          throw new RolledBack(result);
        }
        if (!saved) throw new LostRace();
        return { result };
      },
      { flattenNested },
    );

  let outcome: Outcome;
  try {
    // Most calls succeed: run their service transactions without savepoints (two round
    // trips fewer each). If one of them failed, everything was rolled back, and the call
    // runs again the careful way, so a failure is stored exactly as it would have been.
    outcome = await attempt(true).catch((error: unknown) => {
      if (error instanceof NestedFailure) return attempt(false);
      throw error;
    });
  } catch (error) {
    if (error instanceof RolledBack) return error.result as Awaited<ReturnType<typeof next>>;
    if (!(error instanceof LostRace)) throw error;
    const winner = await store.find(transactions.root, scopeKey, key);
    if (!winner) throw new IdempotencyKeyInUseError();
    outcome = { replay: winner };
  }
  if ('result' in outcome) {
    if (failpoint === FAILPOINT_AFTER_COMMIT) process.kill(process.pid, 'SIGKILL');
    return outcome.result;
  }
  return replay(ctx, outcome.replay, fingerprint);
  }),
  // A query, or a mutation that opted out, goes straight to next() whatever the headers say.
  (meta, type) => type === 'mutation' && meta?.idempotency !== false,
);

function validKey(header: string | string[]): string {
  const value = Array.isArray(header) ? header.join(', ') : header;
  if (!IDEMPOTENCY_KEY_PATTERN.test(value)) {
    throw new ValidationError('Idempotency-Key must be 1–255 printable ASCII characters without spaces (a UUID is a good key)', [
      { path: ['Idempotency-Key'], message: value.length === 0 ? 'Empty' : value.length > 255 ? 'Longer than 255 characters' : 'Characters outside printable ASCII', code: 'invalid_format' },
    ]);
  }
  return value;
}

/** What to store for a finished call; undefined when it must not be stored (5xx, transient). */
function toRecord(
  ctx: Context,
  result: { ok: true; data: unknown } | { ok: false; error: unknown },
  opts: { procedure: string; fingerprint: string; successStatus: number; maxBytes: number },
): StoredOutcome | undefined {
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = ctx.reply.getHeader(name);
    if (value !== undefined) headers[name] = String(value);
  }
  let status: number;
  let text: string;
  if (result.ok) {
    status = opts.successStatus;
    text = superjson.stringify(result.data);
  } else {
    const body = toErrorBody(result.error as never, { isProduction: ctx.isProduction });
    status = HTTP_STATUS[body.code];
    if (status >= 500 || TRANSIENT.has(status)) return undefined;
    const cause = (result.error as { cause?: unknown }).cause;
    if (cause instanceof AppError && cause.headers) for (const [k, v] of Object.entries(cause.headers)) headers[k.toLowerCase()] = v;
    text = JSON.stringify(body);
  }
  const bytes = Buffer.byteLength(text);
  return { procedure: opts.procedure, fingerprint: opts.fingerprint, status, ok: result.ok, response: bytes > opts.maxBytes ? null : text, responseBytes: bytes, headers };
}

function replay(ctx: Context, stored: StoredOutcome, fingerprint: string) {
  if (stored.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
  void ctx.reply.header(REPLAYED_HEADER, 'true');
  for (const [name, value] of Object.entries(stored.headers)) void ctx.reply.header(name, value);
  if (stored.response === null) {
    throw new AppError(
      'CONFLICT',
      `This request already ran (status ${stored.status}), but its response (${stored.responseBytes} bytes) was larger than the limit for stored responses and cannot be replayed; read the resource instead`,
    );
  }
  if (stored.ok) return { ok: true as const, data: superjson.parse(stored.response), marker: 'middlewareMarker' as never };
  const body = JSON.parse(stored.response) as ErrorBody;
  throw new AppError(body.code, body.message, body.issues, stored.headers);
}

/** JSON with object keys sorted, so the same input always has the same fingerprint. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
    }
    return v;
  }) ?? 'undefined';
}
