import type { FastifyRequest } from 'fastify';
import { ForbiddenError } from '../../errors.ts';
import type { Authenticate, RequestAuth } from '../../trpc/context.ts';
import type { AuthService } from './auth.service.ts';
import { SESSION_COOKIE, sessionCookieFor, type SessionCookie } from './session.cookie.ts';

/** The request authentication both doors use (the context factory's `authenticate`). */
export function requestAuthenticator(deps: { auth: AuthService; publicUrl: string | undefined }): Authenticate {
  return (req, reply) => authenticateRequest(req, { auth: deps.auth, cookie: sessionCookieFor(reply, { secure: deps.auth.secureCookies }), publicUrl: deps.publicUrl });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Reads the session token from `Authorization: Bearer <token>` or, failing that,
 * from the session cookie, and resolves it to an Actor.
 *
 * A browser attaches the cookie to requests other sites make, so a cookie only
 * authenticates a state-changing request (tRPC mutations are POSTs; REST POST,
 * PATCH, PUT, DELETE) that proves it comes from our own origin: `Sec-Fetch-Site:
 * same-origin`, or an `Origin` whose host is the request's own (or PUBLIC_URL's).
 * A bearer token cannot be attached by another site, so it needs no such proof.
 */
export async function authenticateRequest(
  request: FastifyRequest,
  deps: { auth: AuthService; cookie: SessionCookie; publicUrl: string | undefined },
): Promise<RequestAuth> {
  const bearer = bearerToken(request.headers.authorization);
  const cookie = bearer === undefined ? request.cookies?.[SESSION_COOKIE] : undefined;
  const token = bearer ?? cookie;
  if (!token) return { actor: null, rejection: null };

  if (cookie !== undefined && !SAFE_METHODS.has(request.method) && !isSameOrigin(request, deps.publicUrl)) {
    return { actor: null, rejection: new ForbiddenError('Cross-site request refused: a cookie-authenticated change must come from this site') };
  }

  const result = await deps.auth.authenticate(token);
  if (cookie !== undefined) {
    if (!result) deps.cookie.clear();
    else if (result.extended) deps.cookie.set(token, result.session.expiresAt);
  }
  return { actor: result?.actor ?? null, rejection: null };
}

/** The token of an `Authorization: Bearer` header; undefined when there is none. */
function bearerToken(header: string | undefined): string | undefined {
  const match = header && /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}

function isSameOrigin(request: FastifyRequest, publicUrl: string | undefined): boolean {
  if (request.headers['sec-fetch-site'] === 'same-origin') return true;
  const origin = request.headers.origin;
  if (!origin || origin === 'null') return false;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  if (host === request.host) return true;
  return publicUrl !== undefined && host === new URL(publicUrl).host;
}
