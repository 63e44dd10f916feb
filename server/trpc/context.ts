import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AppError } from '../errors.ts';
import type { AfterResponseRunner, AfterResponseTask } from '../jobs/after-response.ts';
import type { Actor } from './access.ts';

/**
 * What every procedure receives. Built once per request by either door
 * (tRPC or REST) from the same function, so both see the same thing. Services are
 * not in it: a module's router is built from the services it declares (see
 * `defineModule`), so a procedure's dependencies are visible in its router's signature.
 */
export interface Context {
  requestId: string;
  log: Logger;
  isProduction: boolean;
  req: FastifyRequest;
  reply: FastifyReply;
  /** The signed-in user, or null. `authedProcedure` and `requirePermission` narrow it to Actor. */
  actor: Actor | null;
  /** Why a presented credential was refused (e.g. a cross-site cookie); thrown instead of 401. */
  authRejection: AppError | null;
  /**
   * Runs `task` in this process after the response has been sent, best effort:
   * its failure is logged, never seen by the client, and it is lost if the process
   * dies first. For what must happen, add a job instead.
   */
  afterResponse(task: AfterResponseTask): void;
}

/** Who a request is from, or why the credential it carried was refused. */
export interface RequestAuth {
  actor: Actor | null;
  /**
   * Set when a credential was present but refused for a reason other than being
   * invalid (a cookie on a cross-site state-changing request); procedures that
   * need a user throw it instead of the plain 401.
   */
  rejection: AppError | null;
}

/** Resolves a request's credential (the auth module supplies it through the composition root). */
export type Authenticate = (req: FastifyRequest, reply: FastifyReply) => Promise<RequestAuth>;

/** What building a context needs; the composition root provides it. */
export interface ContextDeps {
  authenticate: Authenticate;
  isProduction: boolean;
  afterResponse: AfterResponseRunner;
}

export type CreateContext = (o: { req: FastifyRequest; res: FastifyReply }) => Promise<Context>;

export function createContextFactory(deps: ContextDeps): CreateContext {
  return async ({ req, res }) => {
    const { actor, rejection } = await deps.authenticate(req, res);
    const log = (actor ? req.log.child({ userId: actor.userId }) : req.log) as unknown as Logger;
    return {
      requestId: String(req.id ?? randomUUID()),
      log,
      isProduction: deps.isProduction,
      req,
      reply: res,
      actor,
      authRejection: rejection,
      afterResponse: (task) => deps.afterResponse.schedule(res.raw, log, task),
    };
  };
}
