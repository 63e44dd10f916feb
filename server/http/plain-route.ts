import { compileProcedure } from '../trpc/compiled.ts';
import { getTRPCErrorFromUnknown, type AnyTRPCProcedure } from '@trpc/server';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errorHeaders, HTTP_STATUS, toErrorBody } from '../errors.ts';
import type { Context, CreateContext } from '../trpc/context.ts';
import type { Meta } from '../trpc/init.ts';

/** What a plain route is registered with: the REST prefix and the request context both doors use. */
export interface PlainRouteOptions {
  prefix: string;
  createContext: CreateContext;
  isProduction: boolean;
}

/** What a plain route's handler answers: a status (default 200), headers and a body (a stream, a Buffer, a string). */
export interface PlainResponse {
  status?: number;
  headers?: Record<string, string | number>;
  body: unknown;
}

/** How the document describes the success response (the body is not JSON, so there is no output schema). */
export interface PlainResponseSpec {
  description: string;
  contentType: string;
  headers?: Record<string, { description: string }>;
  /** Other non-error answers (a 302 redirect), as OpenAPI response objects by status. */
  others?: Record<string, Record<string, unknown>>;
}

/**
 * A REST route that is not a JSON procedure (a binary download, a stream), declared in
 * a module's manifest (`routes`). It is a procedure all the same: built from the same
 * access builders (`authedProcedure`, `requirePermission(...)`), with `meta.openapi`
 * and an input schema, so access, input validation, the error body and the OpenAPI
 * entry are the procedures' own. Only the answer differs: the handler writes headers
 * and a body instead of returning JSON. Served on the REST door only.
 */
export interface PlainRoute {
  /** Dotted like a procedure path (`reports.file`); the OpenAPI operationId is derived from it. */
  name: string;
  /** The procedure that checks access and input and runs the handler. */
  procedure: AnyTRPCProcedure;
  meta: Meta;
  response: PlainResponseSpec;
  register(fastify: FastifyInstance, opts: PlainRouteOptions): void;
}

/** A procedure builder with access and input chosen: `authedProcedure.meta({ openapi }).input(schema)`. */
interface RouteBuilder<TCtx, TInput> {
  output(schema: z.ZodType): { query(resolver: (opts: { ctx: TCtx; input: TInput }) => Promise<PlainResponse>): AnyTRPCProcedure };
}

/**
 * Declares a plain route.
 *
 * @example
 * plainRoute('reports.file', authedProcedure.meta({ openapi: { method: 'GET', path: '/reports/{id}/file', tags } }).input(ReportIdInput), {
 *   response: { description: 'The PDF', contentType: 'application/pdf' },
 *   handle: async ({ ctx, input }) => ({ headers: { 'content-type': 'application/pdf' }, body: await open(input.id, ctx.actor) }),
 * })
 */
export function plainRoute<TCtx extends Pick<Context, 'reply'>, TInput>(
  name: string,
  builder: RouteBuilder<TCtx, TInput>,
  spec: { response: PlainResponseSpec; handle(opts: { ctx: TCtx; input: TInput }): Promise<PlainResponse> },
): PlainRoute {
  // The answer is written to the reply as is, never serialized: z.unknown() passes it through.
  const procedure = builder.output(z.unknown()).query((opts) => spec.handle(opts));
  const meta = (procedure._def.meta ?? {}) as Meta;
  const openapi = meta.openapi;
  if (!openapi) throw new Error(`Plain route ${name} needs meta.openapi (method and path)`);
  return {
    name,
    procedure,
    meta,
    response: spec.response,
    register(fastify, opts) {
      const call = compileProcedure(name, procedure);
      fastify.route({
        method: openapi.method,
        url: opts.prefix + openapi.path.replace(/\{(\w+)\}/g, ':$1'),
        handler: async (request, reply) => {
          const params = request.params as Record<string, string>;
          const input = openapi.method === 'GET' || openapi.method === 'DELETE' ? { ...(request.query as object), ...params } : { ...(request.body as object | undefined), ...params };
          try {
            const answer = (await call({
              ctx: await opts.createContext({ req: request, res: reply }),
              path: name,
              type: 'query',
              getRawInput: async () => input,
              signal: undefined,
              batchIndex: 0,
            })) as PlainResponse;
            return reply
              .code(answer.status ?? 200)
              .headers(answer.headers ?? {})
              .send(answer.body);
          } catch (cause) {
            const error = getTRPCErrorFromUnknown(cause);
            const body = toErrorBody(error, { isProduction: opts.isProduction });
            if (body.code === 'INTERNAL_SERVER_ERROR') request.log.error({ err: error.cause ?? error, route: name }, 'plain route failed');
            return reply.code(HTTP_STATUS[body.code]).headers(errorHeaders(error)).send(body);
          }
        },
      });
    },
  };
}
