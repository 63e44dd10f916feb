import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AppDeps, Services } from '../app.ts';
import type { AppError } from '../errors.ts';
import type { Actor } from '../modules/auth/actor.ts';
import { authenticateRequest } from '../modules/auth/request-auth.ts';
import type { AfterResponseTask } from '../jobs/after-response.ts';
import type { IdempotencyStore } from '../db/idempotency-store.ts';
import type { TransactionScope } from '../db/request-transaction.ts';
import { sessionCookieFor, type SessionCookie } from '../modules/auth/session-cookie.ts';

/** How a call arrived; the door that received it says. */
export interface CallInfo {
  door: 'rest' | 'trpc';
  /** One of several calls in a tRPC batch: no ETag, no 304, no Idempotency-Key. */
  batched: boolean;
  /** Set by the conditional-request middleware: the door answers 304 with no body. */
  notModified: boolean;
}

/** The pipeline's own machinery (retries and concurrent edits); procedures never use it. */
export interface PipelineDeps {
  transactions: TransactionScope;
  idempotency: IdempotencyStore;
  /** TEST_FAILPOINT: a test-only crash point (see server/trpc/idempotency.ts). */
  failpoint: string | undefined;
}

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
  call: CallInfo;
  pipeline: PipelineDeps;
}

/** What a door passes to build a context. */
export interface ContextSource {
  req: FastifyRequest;
  res: FastifyReply;
  /** Default: a REST call. */
  call?: Pick<CallInfo, 'door' | 'batched'>;
}

export function createContextFactory(deps: Pick<AppDeps, 'services' | 'config' | 'afterResponse' | 'pipeline'>) {
  return async ({ req, res, call }: ContextSource): Promise<Context> => {
    const sessionCookie = sessionCookieFor(req, res);
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
      call: { door: call?.door ?? 'rest', batched: call?.batched ?? false, notModified: false },
      pipeline: deps.pipeline,
    };
  };
}
