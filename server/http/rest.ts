import { getTRPCErrorFromUnknown, type AnyTRPCProcedure, type AnyTRPCRouter } from '@trpc/server';
import { compileRouter } from '../trpc/compiled.ts';
import type { FastifyInstance } from 'fastify';
import { errorHeaders, HTTP_STATUS, toErrorBody } from '../errors.ts';
import { labelRequest } from '../observability/http-hooks.ts';
import type { Context, ContextSource } from '../trpc/context.ts';
import { listProcedures } from './procedure-meta.ts';
import { queryCoercer, takesNoInput } from './query-coercion.ts';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * The REST door. trpc-to-openapi describes each procedure's route (its `meta.openapi`)
 * and generates the document (server/http/openapi.ts); this adapter serves those same
 * routes through Fastify's router and calls the procedure directly, with the same
 * context, middleware, validation and error formatter as the tRPC door.
 *
 * Why not the package's own runtime adapter: it scans every route with a regex, re-coerces
 * schemas and builds a fetch `Request` per call (together about half of a REST call's CPU in
 * `npm run bench`), and it can neither send 201/204 nor the error body both doors share.
 */
export function registerRestDoor(
  fastify: FastifyInstance,
  opts: { router: AnyTRPCRouter; prefix: string; createContext: (o: ContextSource) => Context | Promise<Context>; isProduction: boolean },
): void {
  const procedures = opts.router._def.procedures as Record<string, AnyTRPCProcedure>;
  const compiled = compileRouter(opts.router);
  for (const info of listProcedures(opts.router)) {
    const openapi = info.meta.openapi;
    if (!openapi || openapi.enabled === false || info.type === 'subscription') continue;
    const procedure = procedures[info.path]!;
    const call = compiled.get(info.path)!;
    const takesBody = BODY_METHODS.has(openapi.method);
    const coerce = queryCoercer(procedure._def.inputs[0]);
    const noInput = takesNoInput(procedure._def.inputs[0]);
    const successStatus = info.meta.successStatus ?? 200;
    const label = { procedure: info.path, door: 'rest' } as const;

    fastify.route({
      method: openapi.method,
      url: opts.prefix + openapi.path.replace(/\{(\w+)\}/g, ':$1'),
      handler: async (request, reply) => {
        labelRequest(request, label);
        const params = request.params as Record<string, string>;
        const input = noInput
          ? undefined
          : takesBody
            ? { ...(request.body as object | undefined), ...params }
            : coerce({ ...(request.query as Record<string, unknown>), ...params });
        let ctx: Context | undefined;
        try {
          ctx = await opts.createContext({ req: request, res: reply, call: { door: 'rest', batched: false } });
          const data = await call({
            ctx,
            path: info.path,
            type: info.type,
            getRawInput: () => Promise.resolve(input),
            rawInput: input,
            signal: undefined,
            batchIndex: 0,
          });
          if (ctx.call.notModified) return reply.code(304).send();
          if (successStatus === 204) return reply.code(204).send();
          return reply.code(successStatus).send(data);
        } catch (cause) {
          const error = getTRPCErrorFromUnknown(cause);
          const body = toErrorBody(error, { isProduction: opts.isProduction });
          if (body.code === 'INTERNAL_SERVER_ERROR') request.log.error({ err: error.cause ?? error, procedure: info.path, userId: ctx?.actor?.userId }, 'procedure failed');
          return reply.code(HTTP_STATUS[body.code]).headers(errorHeaders(error)).send(body);
        }
      },
    });
  }
}
