import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AppDeps, Services } from '../app.ts';

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
}

export function createContextFactory(deps: Pick<AppDeps, 'services' | 'config'>) {
  return ({ req, res }: { req: FastifyRequest; res: FastifyReply }): Context => ({
    requestId: String(req.id ?? randomUUID()),
    log: req.log as unknown as Logger,
    services: deps.services,
    isProduction: deps.config.isProduction,
    req,
    reply: res,
  });
}
