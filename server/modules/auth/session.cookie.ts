import type { FastifyReply, FastifyRequest } from 'fastify';

/** The cookie's name; the OpenAPI document declares it as the `sessionCookie` scheme. */
export const SESSION_COOKIE = 'session';

const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Sets and clears the session cookie on one response. */
export interface SessionCookie {
  set(token: string, expiresAt: Date): void;
  clear(): void;
}

/**
 * `HttpOnly` (scripts cannot read it), `SameSite=Lax` (not sent on cross-site
 * sub-requests), `Path=/`, and `Secure` unless the request was made to localhost,
 * where plain http is the norm during development.
 */
export function sessionCookieFor(request: FastifyRequest, reply: FastifyReply): SessionCookie {
  const options = { httpOnly: true, sameSite: 'lax', path: '/', secure: !LOCAL_HOSTNAMES.has(request.hostname) } as const;
  return {
    set: (token, expiresAt) => void reply.setCookie(SESSION_COOKIE, token, { ...options, expires: expiresAt }),
    clear: () => void reply.clearCookie(SESSION_COOKIE, options),
  };
}
