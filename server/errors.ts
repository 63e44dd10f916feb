import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { z } from 'zod';

/**
 * The public error codes: tRPC's code names, plus a few of our own that refine one of
 * them (EMAIL_NOT_VERIFIED is a FORBIDDEN with a reason a client can act on). Each has
 * exactly one HTTP status (the table below) and the typed client sees the same word as
 * REST (in `error.data.code`).
 */
export type ErrorCode = TRPC_ERROR_CODE_KEY | OwnErrorCode;

/** Codes of our own; each travels through tRPC as the tRPC code its table row names. */
export type OwnErrorCode = 'EMAIL_NOT_VERIFIED';

/** One offending field: where it is in the input and what is wrong with it. */
export interface ErrorIssue {
  path: (string | number)[];
  message: string;
  code: string;
}

/** The one error body, on REST and (as the error shape) on tRPC. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  issues?: ErrorIssue[];
}

/** One row of the error table: the HTTP status both doors use, and when the code is raised. */
export interface ErrorKind {
  status: number;
  /** When it happens, for the errors reference (docs/reference/errors.md, `npm run docs`). */
  when: string;
  /** For our own codes: the tRPC code it is carried as (its JSON-RPC code on the tRPC wire). */
  refines?: TRPC_ERROR_CODE_KEY;
}

const UNUSED = 'Not raised by Duality today; a module may throw `new AppError(code, message)` for it.';

/**
 * The one error table: every code, its HTTP status (the REST door and the tRPC door both
 * use it) and when it happens. `npm run docs` writes docs/reference/errors.md from it.
 */
export const ERROR_KINDS: Record<ErrorCode, ErrorKind> = {
  PARSE_ERROR: { status: 400, when: 'The tRPC door could not parse the request (malformed JSON or superjson in `input`).' },
  BAD_REQUEST: {
    status: 400,
    when: 'Invalid input: `issues` lists each offending field (`ValidationError`, or the input schema). Also a REST body that is not valid JSON.',
  },
  UNAUTHORIZED: {
    status: 401,
    when: 'No valid session: a procedure that needs one was called without a token, or with an expired or revoked one (`UnauthorizedError`); a failed sign-in.',
  },
  PAYMENT_REQUIRED: { status: 402, when: UNUSED },
  FORBIDDEN: {
    status: 403,
    when: 'Signed in, but the user lacks the permission the procedure requires (`ForbiddenError`); a cookie-authenticated write from another site.',
  },
  EMAIL_NOT_VERIFIED: {
    status: 403,
    refines: 'FORBIDDEN',
    when: 'Signed in with the permission, but the permission needs a verified email address and this account has not verified its address yet (`EmailNotVerifiedError`). Verify it with `auth.verifyEmail`; `auth.resendVerification` mails a new code.',
  },
  NOT_FOUND: {
    status: 404,
    when: 'The resource does not exist, or the caller may not know it exists (`NotFoundError`); an unknown route.',
  },
  METHOD_NOT_SUPPORTED: { status: 405, when: 'A tRPC query called as a mutation, or the other way round.' },
  TIMEOUT: { status: 408, when: UNUSED },
  CONFLICT: {
    status: 409,
    when: 'The request clashes with the current state: a duplicate unique value, or a report file asked for before it is ready (`ConflictError`).',
  },
  PRECONDITION_FAILED: { status: 412, when: UNUSED },
  PAYLOAD_TOO_LARGE: { status: 413, when: 'The request body is larger than `BODY_LIMIT`.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, when: 'A request body that is not `application/json`.' },
  UNPROCESSABLE_CONTENT: { status: 422, when: UNUSED },
  PRECONDITION_REQUIRED: { status: 428, when: UNUSED },
  TOO_MANY_REQUESTS: { status: 429, when: 'A rate limit was reached (sign-in attempts); `Retry-After` says when to try again (`RateLimitedError`).' },
  CLIENT_CLOSED_REQUEST: { status: 499, when: 'The client went away before the answer (tRPC); never seen by the client.' },
  INTERNAL_SERVER_ERROR: {
    status: 500,
    when: 'A fault: anything thrown that is not an `AppError`. In production the message is only "Internal server error"; the details are logged.',
  },
  NOT_IMPLEMENTED: { status: 501, when: UNUSED },
  BAD_GATEWAY: { status: 502, when: UNUSED },
  SERVICE_UNAVAILABLE: { status: 503, when: '`GET /readyz` while the database does not answer.' },
  GATEWAY_TIMEOUT: { status: 504, when: UNUSED },
};

/** HTTP status for each code, from the table above. */
export const HTTP_STATUS = Object.fromEntries(Object.entries(ERROR_KINDS).map(([code, kind]) => [code, kind.status])) as Record<ErrorCode, number>;

export const ErrorIssueSchema = z.object({
  path: z.array(z.union([z.string(), z.number()])),
  message: z.string(),
  code: z.string(),
});
export const ErrorBodySchema = z.object({
  code: z.enum(Object.keys(ERROR_KINDS) as [ErrorCode, ...ErrorCode[]]).meta({ description: 'Machine-readable error code; its HTTP status is fixed (NOT_FOUND is always 404)' }),
  message: z.string(),
  issues: z.array(ErrorIssueSchema).optional().meta({ description: 'Each offending input field, by path' }),
});

/** The tRPC code an error code travels as: itself, or the one our own code refines. */
export function trpcCodeOf(code: ErrorCode): TRPC_ERROR_CODE_KEY {
  return ERROR_KINDS[code].refines ?? (code as TRPC_ERROR_CODE_KEY);
}

export function codeForStatus(status: number): ErrorCode {
  const found = (Object.entries(HTTP_STATUS) as [ErrorCode, number][]).find(([code, s]) => s === status && code !== 'PARSE_ERROR' && !ERROR_KINDS[code].refines);
  return found ? found[0] : status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST';
}

/**
 * The base of every error domain code throws on purpose. Services never know about
 * HTTP or tRPC: the formatter below turns these into codes and statuses.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: ErrorIssue[],
    /** Extra response headers, e.g. Retry-After. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export class NotFoundError extends AppError {
  constructor(resource: string, id?: string) {
    super('NOT_FOUND', id === undefined ? `${resource} not found` : `${resource} ${id} not found`);
  }
}
export class ConflictError extends AppError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}
export class UnauthorizedError extends AppError {
  constructor(message = 'Sign in required') {
    super('UNAUTHORIZED', message);
  }
}
export class ForbiddenError extends AppError {
  constructor(message = 'You do not have permission to do this') {
    super('FORBIDDEN', message);
  }
}
/** The permission needs a verified email address (see `definePermission`'s `verifiedEmail`). */
export class EmailNotVerifiedError extends AppError {
  constructor(message = 'Verify your email address first: use the code we mailed you (auth.verifyEmail), or ask for a new one (auth.resendVerification)') {
    super('EMAIL_NOT_VERIFIED', message);
  }
}
export class ValidationError extends AppError {
  constructor(message: string, issues: ErrorIssue[]) {
    super('BAD_REQUEST', message, issues);
  }
}
export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number, message = 'Too many requests, try again later') {
    super('TOO_MANY_REQUESTS', message, undefined, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

/** Another request with the same Idempotency-Key is still running; retry after it finishes. */
export class IdempotencyKeyInUseError extends AppError {
  constructor(retryAfterSeconds = 1) {
    super('CONFLICT', 'A request with this Idempotency-Key is still being processed; retry after Retry-After seconds', undefined, {
      'Retry-After': String(retryAfterSeconds),
    });
  }
}
/** The Idempotency-Key was already used for a different request (another procedure or input). */
export class IdempotencyKeyReusedError extends AppError {
  constructor() {
    super('UNPROCESSABLE_CONTENT', 'This Idempotency-Key was already used for a different request; use a new key for a new request');
  }
}
/** If-Match / ifVersion named a version the resource is no longer (or never was) at. */
export class PreconditionFailedError extends AppError {
  constructor(
    resource: string,
    id: string,
    readonly currentVersion: number,
  ) {
    super('PRECONDITION_FAILED', `${resource} ${id} is at version ${currentVersion}, not the version given in If-Match / ifVersion; read it again and reapply your change`, undefined, {
      ETag: `"${currentVersion}"`,
    });
  }
}
/** The procedure requires a conditional write (If-Match or ifVersion) and none was given. */
export class PreconditionRequiredError extends AppError {
  constructor() {
    super('PRECONDITION_REQUIRED', 'This change requires If-Match (REST) or ifVersion (tRPC) with the version you last read');
  }
}
/** A dependency (file storage, …) is down for now; the client may retry after a moment. */
export class ServiceUnavailableError extends AppError {
  constructor(message: string, retryAfterSeconds = 5) {
    super('SERVICE_UNAVAILABLE', message, undefined, { 'Retry-After': String(retryAfterSeconds) });
  }
}

export const INPUT_VALIDATION_MESSAGE = 'Input validation failed';

/** Lets tRPC carry an AppError (middleware and resolvers throw them as they are). */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (error instanceof AppError) return new TRPCError({ code: trpcCodeOf(error.code), message: error.message, cause: error });
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', cause: error });
}

function isZodError(error: unknown): error is z.ZodError {
  return error instanceof z.ZodError || (error instanceof Error && error.name === 'ZodError');
}

/** A custom check may name its own issue code in `params.reason` (e.g. `control_character`). */
function issueCode(issue: z.core.$ZodIssue): string {
  const reason = issue.code === 'custom' ? (issue.params as { reason?: unknown } | undefined)?.reason : undefined;
  return typeof reason === 'string' ? reason : issue.code;
}

/**
 * PostgreSQL refusing the characters of a value it was given (NUL in text, a byte
 * sequence invalid in UTF-8): SQLSTATE 22021 character_not_in_repertoire and 22P05
 * untranslatable_character. The input was bad, not the server: a 400, not a 500.
 */
const UNSTORABLE_TEXT_CODES = new Set(['22021', '22P05']);

/** The BAD_REQUEST an unstorable-text database error stands for, or undefined. */
export function fromDatabaseError(error: unknown): AppError | undefined {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNSTORABLE_TEXT_CODES.has(code)) return new AppError('BAD_REQUEST', 'Input contains characters that cannot be stored');
    e = (e as { nativeError?: unknown; cause?: unknown }).nativeError ?? (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Turns whatever was thrown inside a procedure into the public ErrorBody.
 * In production a real fault says only "Internal server error": no stack, no SQL.
 */
export function toErrorBody(error: TRPCError, opts: { isProduction: boolean }): ErrorBody {
  const cause = error.cause;
  if (error.code === 'BAD_REQUEST' && isZodError(cause)) {
    return {
      code: 'BAD_REQUEST',
      message: INPUT_VALIDATION_MESSAGE,
      issues: cause.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message, code: issueCode(i) })),
    };
  }
  if (cause instanceof AppError) {
    return { code: cause.code, message: cause.message, ...(cause.issues ? { issues: cause.issues } : {}) };
  }
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    return { code: 'INTERNAL_SERVER_ERROR', message: opts.isProduction ? 'Internal server error' : error.message };
  }
  return { code: error.code, message: error.message };
}

/** Headers an error asks for (Retry-After on 429). */
export function errorHeaders(error: unknown): Record<string, string> {
  const cause = error instanceof TRPCError ? error.cause : error;
  return cause instanceof AppError && cause.headers ? cause.headers : {};
}
