import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { AnyTRPCRouter } from '@trpc/server';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Knex } from 'knex';
import type { FileStorage } from '../storage/storage.ts';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { codeForStatus, type ErrorBody } from '../errors.ts';
import type { CreateContext } from '../trpc/context.ts';
import { API_PREFIX, buildOpenApiDocument } from './openapi.ts';
import type { PlainRoute } from './plain-route.ts';
import { methodNotAllowed } from './method-not-allowed.ts';
import { StreamConnections } from './live-streams.ts';
import { computeSecurityHeaders, docsCsp, securityHeaderOptions } from './security-headers.ts';
import { registerRestDoor } from './rest.ts';
import { registerTrpcDoor } from './trpc-door.ts';
import { registerObservabilityHooks } from '../observability/http-hooks.ts';
import { bearerMatches, METRICS_CONTENT_TYPE, renderMetrics } from '../observability/metrics-server.ts';

/** What the HTTP server is built from; the composition root provides it. */
export interface HttpServerDeps {
  config: Pick<Config, 'bodyLimit' | 'trustProxy' | 'isProduction' | 'publicUrl' | 'port' | 'corsOrigins' | 'trpcMaxBatch' | 'docsEnabled' | 'slowRequestMs' | 'slowRequestDbTime' | 'metrics' | 'live'>;
  logger: Logger;
  /** Asked by /readyz. */
  db: Knex;
  /** Asked by /readyz too: a server whose files cannot be read is not ready. */
  storage: Pick<FileStorage, 'kind' | 'location' | 'check'>;
  /** Every procedure, served on both doors. */
  router: AnyTRPCRouter;
  /** REST routes that are not procedures. */
  routes: readonly PlainRoute[];
  createContext: CreateContext;
}

/**
 * Fastify hosts both doors onto the same procedures:
 * `/trpc` (tRPC, superjson) and `/api/v1` (REST through trpc-to-openapi),
 * plus `/openapi.json`, `/docs`, `/healthz` and `/readyz`.
 */
export async function buildHttpServer(deps: HttpServerDeps): Promise<FastifyInstance> {
  const { config, logger, db, router, createContext } = deps;
  // A full tRPC batch is one path parameter (`/trpc/a.b,c.d,…`): let it be that long, no longer.
  const longestProcedure = Math.max(...Object.keys(router._def.procedures).map((p) => p.length));
  // Security headers on every response (helmet's defaults: nosniff, frame options,
  // referrer policy, COOP/CORP, …), worked out once. The API answers JSON and files,
  // never a page, so its CSP allows nothing at all; /docs, the one page, gets its own
  // policy below. They are set on the raw response in the first hook of every request
  // (below) and by the router's own errors, which run no hooks.
  const securityHeaders = computeSecurityHeaders(securityHeaderOptions(config));
  const fastify = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    // The request id is always ours: a client's x-request-id could collide with another
    // request's or forge log lines. A client's own id is logged beside it (below).
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: Math.max(100, config.trpcMaxBatch * (longestProcedure + 1)) },
    trustProxy: trustProxyOption(config.trustProxy),
    // Errors the router raises before any route runs (a malformed URL, an over-long
    // parameter) get the same error body as every other error.
    frameworkErrors: (error, request, reply) => {
      securityHeaders.apply(reply.raw);
      const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
      const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A URL parameter is longer than the limit' : 'Malformed URL';
      void (reply as FastifyReply).code(status).send({ code: codeForStatus(status), message } satisfies ErrorBody);
    },
    // While draining, a request that still arrives on an open keep-alive connection is
    // served (with `Connection: close`), not answered 503: a client or proxy must never
    // see a 5xx from a server that is merely stopping. Load balancers learn it is going
    // from /readyz, which answers 503 from the first moment of the shutdown.
    return503OnClosing: false,
  });
  registerObservabilityHooks(fastify, { slowRequestMs: config.slowRequestMs, slowRequestDbTime: config.slowRequestDbTime });
  const methods = methodNotAllowed(fastify);
  // Only JSON bodies are accepted; every other media type gets the same 415.
  fastify.removeContentTypeParser('text/plain');
  // Many HTTP clients send `Content-Type: application/json` on every request, body or
  // not: an empty body is no body (a procedure that needs one still says which fields).
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if ((body as string).trim() === '') return done(null, undefined);
    return parseJson(request, body as string, done);
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    securityHeaders.apply(reply.raw);
    void reply.header('x-request-id', request.id);
    const clientRequestId = request.headers['x-request-id'];
    if (typeof clientRequestId === 'string' && clientRequestId) request.log = request.log.child({ clientRequestId: clientRequestId.slice(0, 200) });
    done();
  });
  // While shutting down, in-flight responses close their keep-alive connection, so
  // close() returns as soon as they are done instead of waiting out the idle timeout.
  let closing = false;
  const sockets = new Set<Socket>();
  fastify.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Live streams never finish on their own: they are ended first, so clients reconnect elsewhere.
  const streams = new StreamConnections({ maxConnections: config.live.maxConnections, maxBufferedBytes: config.live.maxBufferedBytes });
  fastify.addHook('preClose', async () => {
    closing = true;
    streams.closeAll();
    // Fastify closes the connections idle when it starts closing; those of the streams just
    // ended, and connections a client opened but never sent a request on, are not among
    // them and would hold the shutdown: a moment later, every connection with no response
    // in flight goes.
    setTimeout(() => {
      for (const socket of sockets) if (!(socket as { _httpMessage?: unknown })._httpMessage) socket.destroy();
    }, 600).unref();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });

  // Errors raised before a procedure runs (bad JSON, body too large, unknown media type)
  // get the same body as errors raised inside one.
  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    // A body error on a request no route takes (QUERY without Content-Type) is still a 404 or 405.
    if (request.is404 && (error.statusCode ?? 500) < 500) return methods.notFound(request, reply);
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    const body: ErrorBody =
      status >= 500
        ? { code: 'INTERNAL_SERVER_ERROR', message: config.isProduction ? 'Internal server error' : error.message }
        : { code: codeForStatus(status), message: transportMessage(error) };
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.status(status).send(body);
  });
  fastify.setNotFoundHandler((request, reply) => methods.notFound(request, reply));

  // Parses the session cookie for both doors (no signing: the token is its own proof).
  await fastify.register(fastifyCookie);

  // Browsers on the listed origins (CORS_ORIGINS) may call both doors, cookie included;
  // any other origin gets no CORS headers, so its page cannot read a response. The
  // server's own pages (/docs) are same-origin and need none.
  const allowed = new Set(config.corsOrigins);
  await fastify.register(fastifyCors, {
    origin: (origin, done) => done(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    exposedHeaders: ['x-request-id', 'retry-after', 'etag', 'location'],
    maxAge: 600,
    strictPreflight: false,
  });

  await registerTrpcDoor(fastify, {
    router,
    prefix: '/trpc',
    createContext,
    maxBatchSize: config.trpcMaxBatch,
    streams: { connections: streams, heartbeatMs: config.live.heartbeatMs },
    onError({ error, req, path, userId }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') req.log.error({ err: error.cause ?? error, procedure: path, userId }, 'procedure failed');
    },
  });

  registerRestDoor(fastify, { router, prefix: API_PREFIX, createContext, isProduction: config.isProduction, streams: { connections: streams, heartbeatMs: config.live.heartbeatMs } });
  for (const route of deps.routes) route.register(fastify, { prefix: API_PREFIX, createContext, isProduction: config.isProduction });

  const document = buildOpenApiDocument(router, { publicUrl: config.publicUrl, plainRoutes: deps.routes });
  fastify.get('/openapi.json', { logLevel: 'warn' }, async () => document);
  await fastify.register(fastifySwagger, { mode: 'static', specification: { document: document as never } });
  if (config.docsEnabled) {
    await fastify.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      // No validator badge: it would send the document to validator.swagger.io.
      uiConfig: { deepLinking: true, validatorUrl: null },
      // Replaces the API's CSP on /docs only (the plugin's hook runs in its own scope).
      staticCSP: docsCsp(config),
    });
  }

  // Metrics on the API port only with a token; otherwise they live on METRICS_PORT (or nowhere).
  const metricsToken = config.metrics.token;
  if (metricsToken) {
    fastify.get('/metrics', { logLevel: 'warn' }, async (request, reply) => {
      if (!bearerMatches(request.headers.authorization, metricsToken)) {
        return reply.status(401).header('www-authenticate', 'Bearer').send({ code: 'UNAUTHORIZED', message: 'Metrics need Authorization: Bearer <METRICS_TOKEN>' } satisfies ErrorBody);
      }
      return reply.header('content-type', METRICS_CONTENT_TYPE).send(await renderMetrics());
    });
  }

  fastify.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  // Ready when the database and the file storage both answer; the body says which failed.
  fastify.get('/readyz', { logLevel: 'warn' }, async (request, reply) => {
    if (closing) return reply.status(503).send({ code: 'SERVICE_UNAVAILABLE', message: 'Shutting down' } satisfies ErrorBody);
    try {
      await db.raw('SELECT 1').timeout(2000, { cancel: true });
    } catch {
      return reply.status(503).send({ code: 'SERVICE_UNAVAILABLE', message: 'Database is not answering' } satisfies ErrorBody);
    }
    try {
      await deps.storage.check({ signal: AbortSignal.timeout(2000) });
    } catch (error) {
      request.log.warn({ err: error, storage: deps.storage.location }, 'storage check failed');
      return reply.status(503).send({ code: 'SERVICE_UNAVAILABLE', message: `Storage (${deps.storage.kind}) is not answering` } satisfies ErrorBody);
    }
    return { status: 'ready', database: 'ok', storage: deps.storage.kind };
  });

  return fastify;
}

/**
 * Fastify's `trustProxy` from TRUST_PROXY. A hop count becomes a function trusting the
 * nearest N hops (what Express and proxy-addr mean by a count): Fastify 5 itself now
 * treats a bare number as "trust nothing". Addresses and CIDR ranges go through as they are.
 */
export function trustProxyOption(setting: false | number | string[]): false | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting === 'number') return setting === 0 ? false : (_address, hop) => hop < setting;
  return setting;
}

function transportMessage(error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'Request body is larger than the limit';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Request body must be application/json';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Request body is not valid JSON';
    default:
      return error.message;
  }
}

