import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AppError } from '../errors.ts';
import type { IdempotencyStore } from '../db/idempotency-store.ts';
import type { TransactionScope } from '../db/request-transaction.ts';
import type { AfterResponseRunner, AfterResponseTask } from '../jobs/after-response.ts';
import type { Actor } from './access.ts';

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
  call: CallInfo;
  pipeline: PipelineDeps;
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
  pipeline: PipelineDeps;
}

/** What a door passes to build a context. */
export interface ContextSource {
  req: FastifyRequest;
  res: FastifyReply;
  /** Default: a REST call. */
  call?: Pick<CallInfo, 'door' | 'batched'>;
}

export type CreateContext = (o: ContextSource) => Promise<Context>;

export function createContextFactory(deps: ContextDeps): CreateContext {
  return async ({ req, res, call }) => {
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
      call: { door: call?.door ?? 'rest', batched: call?.batched ?? false, notModified: false },
      pipeline: deps.pipeline,
    };
  };
}
