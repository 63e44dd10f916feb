import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { z } from 'zod';

/**
 * The public error codes. They are tRPC's code names, so each one has exactly one
 * HTTP status (the table below) and the typed client sees the same word as REST.
 */
export type ErrorCode = TRPC_ERROR_CODE_KEY;

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

/** HTTP status for each code; the REST door and the tRPC door both use it. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  PARSE_ERROR: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  PAYMENT_REQUIRED: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_SUPPORTED: 405,
  TIMEOUT: 408,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE_CONTENT: 422,
  PRECONDITION_REQUIRED: 428,
  TOO_MANY_REQUESTS: 429,
  CLIENT_CLOSED_REQUEST: 499,
  INTERNAL_SERVER_ERROR: 500,
  NOT_IMPLEMENTED: 501,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
};

export const ErrorIssueSchema = z.object({
  path: z.array(z.union([z.string(), z.number()])),
  message: z.string(),
  code: z.string(),
});
export const ErrorBodySchema = z.object({
  code: z.enum(Object.keys(HTTP_STATUS) as [ErrorCode, ...ErrorCode[]]).meta({ description: 'Machine-readable error code; its HTTP status is fixed (NOT_FOUND is always 404)' }),
  message: z.string(),
  issues: z.array(ErrorIssueSchema).optional().meta({ description: 'Each offending input field, by path' }),
});

export function codeForStatus(status: number): ErrorCode {
  const found = (Object.entries(HTTP_STATUS) as [ErrorCode, number][]).find(([code, s]) => s === status && code !== 'PARSE_ERROR');
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
export class ValidationError extends AppError {
  constructor(message: string, issues: ErrorIssue[]) {
    super('BAD_REQUEST', message, issues);
  }
}
export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', 'Too many requests, try again later', undefined, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

export const INPUT_VALIDATION_MESSAGE = 'Input validation failed';

/** Lets tRPC carry an AppError (middleware and resolvers throw them as they are). */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (error instanceof AppError) return new TRPCError({ code: error.code, message: error.message, cause: error });
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error', cause: error });
}

function isZodError(error: unknown): error is z.ZodError {
  return error instanceof z.ZodError || (error instanceof Error && error.name === 'ZodError');
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
      issues: cause.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message, code: i.code })),
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
