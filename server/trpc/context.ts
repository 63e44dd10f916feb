import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AppDeps, Services } from '../app.ts';
import type { AfterResponseTask } from '../jobs/after-response.ts';

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
  /**
   * Runs `task` in this process after the response has been sent, best effort:
   * its failure is logged, never seen by the client, and it is lost if the process
   * dies first. For what must happen, add a job instead.
   */
  afterResponse(task: AfterResponseTask): void;
}

export function createContextFactory(deps: Pick<AppDeps, 'services' | 'config' | 'afterResponse'>) {
  return ({ req, res }: { req: FastifyRequest; res: FastifyReply }): Context => {
    const log = req.log as unknown as Logger;
    return {
      requestId: String(req.id ?? randomUUID()),
      log,
      services: deps.services,
      isProduction: deps.config.isProduction,
      req,
      reply: res,
      afterResponse: (task) => deps.afterResponse.schedule(res.raw, log, task),
    };
  };
}
