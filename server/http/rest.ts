import type { AnyTRPCRouter } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createOpenApiNodeHttpHandler } from 'trpc-to-openapi';
import { errorHeaders, HTTP_STATUS, toErrorBody, type ErrorBody } from '../errors.ts';
import type { Context } from '../trpc/context.ts';
import { listProcedures } from './procedure-meta.ts';

const errorBodies = new WeakMap<FastifyRequest, ErrorBody>();
const replies = new WeakMap<FastifyRequest, FastifyReply>();

/**
 * The REST door: trpc-to-openapi routes `/api/v1/*` to the same procedures the tRPC
 * door serves. This adapter (in place of the package's Fastify plugin) owns two
 * things the package leaves open: the success status of each operation (201/202/204
 * from the procedure's meta) and the error body, which it writes from the same
 * `toErrorBody` the tRPC error formatter uses, so both doors say the same thing.
 */
export function registerRestDoor(
  fastify: FastifyInstance,
  opts: { router: AnyTRPCRouter; prefix: string; createContext: (o: { req: FastifyRequest; res: FastifyReply }) => Context | Promise<Context>; isProduction: boolean },
): void {
  const successStatus = new Map(listProcedures(opts.router).map((p) => [p.path, p.meta.successStatus]));

  const handle = createOpenApiNodeHttpHandler({
    router: opts.router,
    createContext: ({ req }: { req: unknown }) => {
      const request = req as FastifyRequest;
      return opts.createContext({ req: request, res: replies.get(request)! });
    },
    responseMeta: ({ paths, errors }) => {
      const [error] = errors;
      if (error) {
        const body = toErrorBody(error, { isProduction: opts.isProduction });
        return { status: HTTP_STATUS[body.code], headers: errorHeaders(error) };
      }
      return { status: (paths?.[0] && successStatus.get(paths[0])) || 200 };
    },
    onError: ({ error, req }) => {
      const request = req as unknown as FastifyRequest;
      errorBodies.set(request, toErrorBody(error, { isProduction: opts.isProduction }));
      if (error.code === 'INTERNAL_SERVER_ERROR') request.log.error({ err: error.cause ?? error }, 'procedure failed');
    },
  } as Parameters<typeof createOpenApiNodeHttpHandler>[0]);

  fastify.route({
    method: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'],
    url: `${opts.prefix}/*`,
    handler: async (request, reply) => {
      replies.set(request, reply);
      request.raw.url = request.url.slice(opts.prefix.length) || '/';
      // An operation without a request body (POST /auth/sign-out) may be called without
      // one; trpc-to-openapi would answer 415 to a POST that names no media type.
      if (!request.headers['content-type'] && !request.headers['transfer-encoding'] && Number(request.headers['content-length'] ?? 0) === 0) {
        request.headers['content-type'] = 'application/json';
      }
      // trpc-to-openapi speaks node:http; lend it a response object that writes through Fastify.
      const res = {
        get statusCode() {
          return reply.statusCode;
        },
        set statusCode(value: number) {
          void reply.code(value);
        },
        setHeader: (key: string, value: string) => void reply.header(key, value),
        end: (payload?: string) => {
          if (reply.sent) return;
          const errorBody = errorBodies.get(request);
          if (errorBody) return void reply.type('application/json').send(JSON.stringify(errorBody));
          if (reply.statusCode === 204) return void reply.removeHeader('content-type').send();
          return void reply.send(payload);
        },
        once: reply.raw.once.bind(reply.raw),
        on: reply.raw.on.bind(reply.raw),
        off: reply.raw.off.bind(reply.raw),
        emit: reply.raw.emit.bind(reply.raw),
        removeListener: reply.raw.removeListener.bind(reply.raw),
        socket: reply.raw.socket,
        get headersSent() {
          return reply.raw.headersSent;
        },
      };
      const req = Object.assign(request, {
        headers: request.headers,
        once: request.raw.once.bind(request.raw),
        on: request.raw.on.bind(request.raw),
        off: request.raw.off.bind(request.raw),
        destroy: request.raw.destroy.bind(request.raw),
      });
      await handle(req as never, res as never);
      return reply;
    },
  });
}
