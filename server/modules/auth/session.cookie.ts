import type { FastifyReply } from 'fastify';

/** The cookie's name; the OpenAPI document declares it as the `sessionCookie` scheme. */
export const SESSION_COOKIE = 'session';

/** Sets and clears the session cookie on one response. */
export interface SessionCookie {
  set(token: string, expiresAt: Date): void;
  clear(): void;
}

/**
 * Whether the session cookie is marked `Secure`: in production, or whenever PUBLIC_URL is
 * https. Never from the request's Host header: a proxy forwarding `Host: 127.0.0.1:3000`
 * would otherwise make a production server send its session cookie without `Secure`.
 */
export function cookieIsSecure(config: { isProduction: boolean; publicUrl: string | undefined }): boolean {
  return config.isProduction || (config.publicUrl?.startsWith('https:') ?? false);
}

/**
 * `HttpOnly` (scripts cannot read it), `SameSite=Lax` (not sent on cross-site
 * sub-requests), `Path=/`, and `Secure` as `cookieIsSecure` decides.
 */
export function sessionCookieFor(reply: FastifyReply, opts: { secure: boolean }): SessionCookie {
  const options = { httpOnly: true, sameSite: 'lax', path: '/', secure: opts.secure } as const;
  return {
    set: (token, expiresAt) => void reply.setCookie(SESSION_COOKIE, token, { ...options, expires: expiresAt }),
    clear: () => void reply.clearCookie(SESSION_COOKIE, options),
  };
}
