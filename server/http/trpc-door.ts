import { getErrorShape, getTRPCErrorFromUnknown, transformTRPCResponse, TRPCError, type AnyTRPCProcedure, type AnyTRPCRouter } from '@trpc/server';
import { errorHeaders, toTRPCError } from '../errors.ts';
import { fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { labelRequest } from '../observability/http-hooks.ts';
import type { Context, ContextSource } from '../trpc/context.ts';
import { drained, type StreamConnections } from './live-streams.ts';
import { compileRouter } from '../trpc/compiled.ts';
import { outputIsPlainJson } from '../trpc/plain-json.ts';
import superjson from 'superjson';
import { isObservable, observableToAsyncIterable } from '@trpc/server/observable';
import { isAsyncIterable, sseHeaders, sseStreamProducer } from '@trpc/server/unstable-core-do-not-import';

interface TrpcDoorOptions {
  router: AnyTRPCRouter;
  prefix: string;
  createContext: (o: ContextSource) => Context | Promise<Context>;
  onError: (o: { error: TRPCError; req: FastifyRequest; path: string | undefined; userId: string | undefined }) => void;
  /** Most calls one batched request may carry; more is a 400 (TRPC_MAX_BATCH). */
  maxBatchSize?: number;
  /** Subscriptions (tRPC's SSE): the cap, the heartbeat and the shutdown they share with REST streams. */
  streams?: { connections: StreamConnections; heartbeatMs: number };
}

type ResponseItem = { result: { data: unknown } } | { error: unknown };

/**
 * The tRPC door. Plain JSON queries and mutations, batched or not (all that
 * `httpBatchLink` and `httpLink` send), are answered here directly: parse, call the
 * procedure, serialize with tRPC's own `getErrorShape` and `transformTRPCResponse`.
 * Subscriptions (`httpSubscriptionLink`) are served here too, so that an error before the
 * stream opens gets its real status and the usual JSON body, as on the REST door (tRPC's
 * handler would answer 200 and a `serialized-error` event); the stream itself is tRPC's
 * own SSE producer, so the wire is tRPC's. Everything else (streaming links, form data,
 * batched subscriptions, method override) goes to tRPC's official Fastify handler.
 *
 * Why a fast path at all: tRPC 11's Node adapter turns each request into a fetch
 * `Request` and back from a `Response` through web streams, which cost more CPU than the
 * whole rest of a get-by-id call (see the note in bench/products.bench.ts). A
 * conformance test (tests/http/trpc-door.test.ts) checks that both paths answer
 * byte for byte alike.
 */
export async function registerTrpcDoor(fastify: FastifyInstance, opts: TrpcDoorOptions): Promise<void> {
  const { router } = opts;
  const config = router._def._config;
  const procedures = router._def.procedures as Record<string, AnyTRPCProcedure>;
  const compiled = compileRouter(router);
  // Procedures whose output superjson would leave as it is (only when superjson is the transformer).
  const plainJsonOutput = new Set(
    config.transformer.output.serialize === superjson.serialize
      ? Object.entries(procedures)
          .filter(([, p]) => p._def.type !== 'subscription' && outputIsPlainJson((p._def as { output?: unknown }).output))
          .map(([path]) => path)
      : [],
  );

  await fastify.register(async (scope) => {
    // As tRPC's plugin does: keep JSON bodies as text; tRPC parses them (and reports PARSE_ERROR).
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));

    const official = (request: FastifyRequest, reply: FastifyReply, path: string) =>
      fastifyRequestHandler({
        router,
        req: request,
        res: reply,
        path,
        createContext: ({ req, res }: { req: FastifyRequest; res: FastifyReply }) => opts.createContext({ req, res, call: { door: 'trpc', batched: path.includes(',') } }),
        onError: ({ error, req, path: p, ctx }: { error: TRPCError; req: FastifyRequest; path: string | undefined; ctx?: Context }) =>
          opts.onError({ error, req, path: p, userId: ctx?.actor?.userId }),
        // Headers an error asks for (Retry-After on 429), as the fast path and REST send them.
        maxBatchSize: opts.maxBatchSize ?? 20,
        responseMeta: ({ errors }: { errors: TRPCError[] }) => ({ headers: Object.assign({}, ...errors.map(errorHeaders)) }),
      } as never);

    /**
     * One call, not batched (tRPC's httpLink, and every batch of one the client does not
     * batch): no per-item closures or Promise.all, and when the procedure's output holds
     * only plain JSON (`plainJsonOutput`) the envelope is written around
     * `JSON.stringify(data)`, which is what superjson would produce, without its walk.
     */
    const single = async (request: FastifyRequest, reply: FastifyReply, path: string, type: 'query' | 'mutation', input: unknown) => {
      let ctx: Context | undefined;
      let text: string;
      let status = 200;
      const headers: Record<string, string> = {};
      try {
        ctx = await opts.createContext({ req: request, res: reply, call: { door: 'trpc', batched: false } });
        const data = await compiled.get(path)!({ ctx, path, type, getRawInput: () => Promise.resolve(input), rawInput: input, signal: undefined, batchIndex: 0 });
        // A query whose If-None-Match matched (server/trpc/conditional.ts).
        if (ctx.call.notModified) return reply.code(304).send();
        text = plainJsonOutput.has(path) ? `{"result":{"data":{"json":${JSON.stringify(data)}}}}` : JSON.stringify(transformTRPCResponse(config, { result: { data } } as never));
      } catch (cause) {
        const error = getTRPCErrorFromUnknown(cause);
        opts.onError({ error, req: request, path, userId: ctx?.actor?.userId });
        Object.assign(headers, errorHeaders(error));
        const shape = getErrorShape({ config, error, type, path, input, ctx });
        status = (shape as { data?: { httpStatus?: number } }).data?.httpStatus ?? 500;
        text = JSON.stringify(transformTRPCResponse(config, { error: shape } as never));
      }
      return reply.code(status).headers(headers).header('content-type', 'application/json').send(Buffer.from(text));
    };

    /**
     * One subscription call (what `httpSubscriptionLink`'s EventSource sends). Context,
     * access and input run before anything is written: a throw there is answered with its
     * status and tRPC's error JSON, the body a query's error has. Only then does the
     * response become tRPC's event stream, with the heartbeat as its `ping` event.
     */
    const subscribe = async (request: FastifyRequest, reply: FastifyReply, path: string, heartbeatMs: number) => {
      const res = reply.raw;
      const aborted = new AbortController();
      res.once('close', () => aborted.abort());
      const query = request.query as Record<string, string | undefined>;
      const header = request.headers['last-event-id'];
      // Where tRPC's own handler reads it from, and how it adds it to the input.
      const lastEventId = (typeof header === 'string' ? header : undefined) ?? query.lastEventId ?? query['Last-Event-Id'];
      let ctx: Context | undefined;
      let input: unknown;
      let events: AsyncIterable<unknown>;
      try {
        if (request.method !== 'GET') {
          reply.header('allow', 'GET');
          throw new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: `Unsupported ${request.method}-request to subscription procedure at path "${path}"` });
        }
        try {
          input = query.input ? config.transformer.input.deserialize(JSON.parse(query.input)) : undefined;
        } catch (cause) {
          throw new TRPCError({ code: 'BAD_REQUEST', message: cause instanceof Error ? cause.message : 'Invalid input', cause });
        }
        if (lastEventId) input = typeof input === 'object' && input !== null ? { ...input, lastEventId } : (input ?? { lastEventId });
        ctx = await opts.createContext({ req: request, res: reply, call: { door: 'trpc', batched: false } });
        const result: unknown = await procedures[path]!({ ctx, path, type: 'subscription', getRawInput: async () => input, signal: aborted.signal, batchIndex: 0 });
        if (isObservable(result)) events = observableToAsyncIterable(result, aborted.signal);
        else if (isAsyncIterable(result)) events = result;
        else throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `Subscription ${path} did not return an observable or a AsyncGenerator` });
      } catch (cause) {
        const error = getTRPCErrorFromUnknown(cause);
        opts.onError({ error, req: request, path, userId: ctx?.actor?.userId });
        const shape = getErrorShape({ config, error, type: 'subscription', path, input, ctx });
        const status = (shape as { data?: { httpStatus?: number } }).data?.httpStatus ?? 500;
        return reply
          .code(status)
          .headers(errorHeaders(error))
          .header('content-type', 'application/json')
          .send(JSON.stringify(transformTRPCResponse(config, { error: shape } as never)));
      }
      const stream = sseStreamProducer({
        data: events,
        lastEventId: lastEventId ?? null,
        serialize: (v) => config.transformer.output.serialize(v),
        ping: { enabled: true, intervalMs: heartbeatMs },
        // The client reconnects (with its last event id) after three missed heartbeats.
        client: { reconnectAfterInactivityMs: heartbeatMs * 3 },
        formatError: ({ error: cause }) => {
          const error = getTRPCErrorFromUnknown(cause);
          opts.onError({ error, req: request, path, userId: ctx?.actor?.userId });
          return getErrorShape({ config, error, type: 'subscription', path, input, ctx });
        },
      });
      // From here on the response is ours: headers Fastify's hooks set so far (CORS, request id) go with it.
      reply.hijack();
      // Headers already on the raw response (the security headers) keep their spelling.
      for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined && !res.hasHeader(name)) res.setHeader(name, value);
      res.setHeader('vary', 'trpc-accept, accept');
      for (const [name, value] of Object.entries(sseHeaders)) res.setHeader(name.toLowerCase(), value);
      res.writeHead(200);
      const reader = stream.getReader();
      // Cancelling the reader returns the subscription's iterator, so its cleanup runs.
      aborted.signal.addEventListener('abort', () => void reader.cancel().catch(() => {}), { once: true });
      try {
        for (;;) {
          const chunk = await reader.read();
          if (chunk.done || res.destroyed) break;
          if (!res.write(chunk.value) && !res.destroyed) await drained(res, aborted.signal);
        }
      } catch (error) {
        if (!aborted.signal.aborted) request.log.error({ err: error, procedure: path }, 'live stream failed');
      } finally {
        if (!res.writableEnded) res.end();
      }
    };

    scope.all(`${opts.prefix}/:path`, async (request, reply) => {
      const path = (request.params as { path: string }).path;
      const query = request.query as Record<string, string | undefined>;
      const type = request.method === 'GET' ? 'query' : request.method === 'POST' ? 'mutation' : undefined;
      const paths = path.split(',');
      labelRequest(request, { procedure: paths.length > 1 ? '(batch)' : procedures[path] ? path : '(unknown)', door: 'trpc' });
      const fastPath =
        type !== undefined &&
        !request.headers['trpc-accept'] &&
        query.connectionParams === undefined &&
        (type === 'query' || typeof request.body === 'string' || request.body === undefined) &&
        paths.every((p) => procedures[p]?._def.type === type);
      if (!fastPath) {
        if (opts.streams && procedures[path]?._def.type === 'subscription') {
          const { connections } = opts.streams;
          // tRPC ends its side when the request's connection closes; destroying it is how a
          // stream is ended at shutdown, and the client reconnects with its last event id.
          if (!connections.admit(reply.raw, () => reply.raw.destroy())) {
            const error = toTRPCError(connections.refusal());
            const shape = getErrorShape({ config, error, type: 'subscription', path, input: undefined, ctx: undefined });
            return reply.code(503).headers(errorHeaders(error)).header('content-type', 'application/json').send(JSON.stringify(transformTRPCResponse(config, { error: shape })));
          }
          if (request.method !== 'HEAD') return subscribe(request, reply, path, opts.streams.heartbeatMs);
        }
        return official(request, reply, path);
      }

      const isBatch = query.batch === '1' || query.batch === 'true';
      let rawInputs: unknown;
      try {
        const text = type === 'query' ? query.input : (request.body as string | undefined);
        rawInputs = text === undefined || text === '' ? undefined : JSON.parse(text);
      } catch {
        return official(request, reply, path); // let tRPC word the PARSE_ERROR
      }
      if (isBatch && rawInputs !== undefined && (typeof rawInputs !== 'object' || rawInputs === null)) return official(request, reply, path);
      // An oversized batch and input superjson cannot read (a `__proto__` key, a non-object
      // `meta`) are refused by tRPC's own handler with a 400; handing them over keeps the
      // answer identical by construction. Both are rare, so the fast path loses nothing.
      if (isBatch && paths.length > (opts.maxBatchSize ?? 20)) return official(request, reply, path);
      let inputs: unknown[];
      try {
        inputs = paths.map((_, index) => {
          const raw = isBatch ? (rawInputs as Record<string, unknown> | undefined)?.[index] : rawInputs;
          return raw === undefined ? undefined : config.transformer.input.deserialize(raw);
        });
      } catch {
        return official(request, reply, path);
      }

      if (!isBatch && paths.length === 1) return single(request, reply, path, type!, inputs[0]);

      // A context that cannot be built (e.g. the session store is down) fails every call in the batch.
      let ctx: Context | undefined;
      let contextError: unknown;
      try {
        ctx = await opts.createContext({ req: request, res: reply, call: { door: 'trpc', batched: paths.length > 1 } });
      } catch (cause) {
        contextError = cause;
      }
      const headers: Record<string, string> = {};
      const items = await Promise.all(
        paths.map(async (p, index): Promise<{ item: ResponseItem; status: number }> => {
          const input = inputs[index];
          try {
            if (contextError) throw contextError;
            const data = await compiled.get(p)!({ ctx, path: p, type: type!, getRawInput: () => Promise.resolve(input), rawInput: input, signal: undefined, batchIndex: index });
            return { item: { result: { data } }, status: 200 };
          } catch (cause) {
            const error = getTRPCErrorFromUnknown(cause);
            opts.onError({ error, req: request, path: p, userId: ctx?.actor?.userId });
            Object.assign(headers, errorHeaders(error));
            const shape = getErrorShape({ config, error, type: type!, path: p, input, ctx });
            return { item: { error: shape }, status: (shape as { data?: { httpStatus?: number } }).data?.httpStatus ?? 500 };
          }
        }),
      );
      // A single query whose If-None-Match matched (server/trpc/conditional.ts).
      if (ctx?.call.notModified && items.length === 1 && items[0]!.status === 200) return reply.code(304).headers(headers).send();
      const statuses = new Set(items.map((i) => i.status));
      const status = statuses.size === 1 ? items[0]!.status : 207;
      const body = transformTRPCResponse(config, (isBatch ? items.map((i) => i.item) : items[0]!.item) as never);
      return reply.code(status).headers(headers).header('content-type', 'application/json').send(Buffer.from(JSON.stringify(body)));
    });
  });
}
