import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AppDeps, Services } from '../app.ts';
import type { AppError } from '../errors.ts';
import type { Actor } from '../modules/auth/actor.ts';
import { authenticateRequest } from '../modules/auth/request-auth.ts';
import { sessionCookieFor, type SessionCookie } from '../modules/auth/session-cookie.ts';

/**
 * What every procedure receives. Built once per request by either door
 * (tRPC or REST) from the same function, so both see the same thing.
 */
export interface Context {
  requestId: string;
  log: Logger;
  services: Services;
  isProduction: boolean;
  req: FastifyRequest;
  reply: FastifyReply;
  /** The signed-in user, or null. `authedProcedure` and `requirePermission` narrow it to Actor. */
  actor: Actor | null;
  /** Why a presented credential was refused (e.g. a cross-site cookie); thrown instead of 401. */
  authRejection: AppError | null;
  /** Sets or clears the session cookie on this response. */
  sessionCookie: SessionCookie;
}

export function createContextFactory(deps: Pick<AppDeps, 'services' | 'config'>) {
  return async ({ req, res }: { req: FastifyRequest; res: FastifyReply }): Promise<Context> => {
    const sessionCookie = sessionCookieFor(req, res);
    const { actor, rejection } = await authenticateRequest(req, { auth: deps.services.auth, cookie: sessionCookie, publicUrl: deps.config.publicUrl });
    return {
      requestId: String(req.id ?? randomUUID()),
      log: (actor ? req.log.child({ userId: actor.userId }) : req.log) as unknown as Logger,
      services: deps.services,
      isProduction: deps.config.isProduction,
      req,
      reply: res,
      actor,
      authRejection: rejection,
      sessionCookie,
    };
  };
}
