import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AppDeps, Services } from '../app.ts';
import type { AppError } from '../errors.ts';
import type { Actor } from '../modules/auth/actor.ts';
import { authenticateRequest } from '../modules/auth/request-auth.ts';
import type { AfterResponseTask } from '../jobs/after-response.ts';
import { cookieIsSecure, sessionCookieFor, type SessionCookie } from '../modules/auth/session-cookie.ts';

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
  /**
   * Runs `task` in this process after the response has been sent, best effort:
   * its failure is logged, never seen by the client, and it is lost if the process
   * dies first. For what must happen, add a job instead.
   */
  afterResponse(task: AfterResponseTask): void;
}

export function createContextFactory(deps: Pick<AppDeps, 'services' | 'config' | 'afterResponse'>) {
  const secure = cookieIsSecure(deps.config);
  return async ({ req, res }: { req: FastifyRequest; res: FastifyReply }): Promise<Context> => {
    const sessionCookie = sessionCookieFor(res, { secure });
    const { actor, rejection } = await authenticateRequest(req, { auth: deps.services.auth, cookie: sessionCookie, publicUrl: deps.config.publicUrl });
    const log = (actor ? req.log.child({ userId: actor.userId }) : req.log) as unknown as Logger;
    return {
      requestId: String(req.id ?? randomUUID()),
      log,
      services: deps.services,
      isProduction: deps.config.isProduction,
      req,
      reply: res,
      actor,
      authRejection: rejection,
      sessionCookie,
      afterResponse: (task) => deps.afterResponse.schedule(res.raw, log, task),
    };
  };
}
