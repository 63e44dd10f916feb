import type { ServerResponse } from 'node:http';
import { getTRPCErrorFromUnknown, isTrackedEnvelope, type AnyTRPCProcedure } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorHeaders, HTTP_STATUS, INPUT_VALIDATION_MESSAGE, ServiceUnavailableError, toErrorBody, ValidationError, type ErrorBody } from '../errors.ts';
import { cachedJson } from '../live/live.ts';
import { labelRequest } from '../observability/http-hooks.ts';
import type { Context, ContextSource } from '../trpc/context.ts';
import type { ProcedureInfo } from './procedure-meta.ts';
import { queryCoercer } from './query-coercion.ts';

/** How long a client refused for the connection cap is asked to wait, in seconds. */
export const STREAM_RETRY_AFTER_SECONDS = 5;
/** How often open streams are checked for a client that stopped reading. */
const SWEEP_MS = 1000;

/**
 * Every open live stream of this process, on both doors: the cap (SSE_MAX_CONNECTIONS),
 * the slow-client rule (a stream whose unread bytes exceed SSE_MAX_BUFFERED_BYTES is
 * disconnected; its client resumes from its last event id) and the shutdown (every
 * stream is ended before the server stops, so clients reconnect to another process).
 */
export class StreamConnections {
  readonly #open = new Map<ServerResponse, () => void>();
  /** Sockets that carried a stream, until they close: a stream's socket is never reused for anything else. */
  readonly #sockets = new Set<import('node:net').Socket>();
  #sweeper: NodeJS.Timeout | undefined;
  #closing = false;
  /** Streams disconnected for not reading (since start). */
  dropped = 0;

  constructor(private readonly opts: { maxConnections: number; maxBufferedBytes: number }) {}

  get size(): number {
    return this.#open.size;
  }

  /** Takes a place for `res` until it closes; false when the cap is reached or the server is stopping. */
  admit(res: ServerResponse, end: () => void = () => res.end()): boolean {
    if (this.#closing || this.#open.size >= this.opts.maxConnections) return false;
    this.#open.set(res, end);
    res.once('close', () => this.#open.delete(res));
    const socket = res.socket;
    if (socket && !this.#sockets.has(socket)) {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    }
    this.#sweeper ??= setInterval(() => this.#sweep(), SWEEP_MS).unref();
    return true;
  }

  /** The 503 a refused stream gets (both doors). */
  refusal(): ServiceUnavailableError {
    return new ServiceUnavailableError(
      this.#closing ? 'This server is shutting down; reconnect to another' : `This server holds its maximum of ${this.opts.maxConnections} live streams; retry shortly`,
      STREAM_RETRY_AFTER_SECONDS,
    );
  }

  #sweep(): void {
    for (const res of this.#open.keys()) {
      if (res.writableLength > this.opts.maxBufferedBytes) {
        this.dropped++;
        res.destroy();
      }
    }
  }

  /** Ends every stream (at shutdown, before the server waits for requests to finish). */
  closeAll(): void {
    this.#closing = true;
    clearInterval(this.#sweeper);
    for (const [res, end] of this.#open) {
      try {
        end();
      } catch {
        res.destroy();
      }
    }
    // What is left a moment later (a handler stuck on a slow query, a socket kept open
    // after its stream) must not hold the shutdown.
    setTimeout(() => {
      for (const res of this.#open.keys()) res.destroy();
      for (const socket of this.#sockets) socket.destroy();
    }, 500).unref();
  }
}

/**
 * Serves a subscription's REST door: `GET <path>` as `text/event-stream`. Access, input
 * and the errors before the stream opens are the procedure's own (401, 403, 404, 400 with
 * the usual body); then one `id:` + `data:` (JSON) block per event, a `: ping` comment
 * every SSE_HEARTBEAT_MS, and the end of the response when the subscription ends.
 * `Last-Event-ID` (or `?lastEventId=`) resumes.
 */
export function registerStreamRoute(
  fastify: FastifyInstance,
  info: ProcedureInfo,
  procedure: AnyTRPCProcedure,
  opts: { prefix: string; createContext: (o: ContextSource) => Context | Promise<Context>; isProduction: boolean; connections: StreamConnections; heartbeatMs: number },
): void {
  const stream = info.meta.stream!;
  const coerce = queryCoercer(procedure._def.inputs[0]);
  const label = { procedure: info.path, door: 'rest' } as const;
  fastify.route({
    method: 'GET',
    url: opts.prefix + stream.path.replace(/\{(\w+)\}/g, ':$1'),
    handler: async (request, reply) => {
      labelRequest(request, label);
      const lastEventId = request.headers['last-event-id'];
      if (typeof lastEventId === 'string' && lastEventId !== '' && !/^\d{1,18}$/.test(lastEventId)) {
        const issue = { path: ['Last-Event-ID'], message: 'An event id is the decimal number an earlier event carried', code: 'invalid_format' };
        return sendError(request, reply, new ValidationError(INPUT_VALIDATION_MESSAGE, [issue]), opts.isProduction, info.path);
      }
      const input = coerce({
        ...(request.query as Record<string, unknown>),
        ...(typeof lastEventId === 'string' && lastEventId !== '' ? { lastEventId } : {}),
        ...(request.params as Record<string, string>),
      });
      const res = reply.raw;
      const aborted = new AbortController();
      if (!opts.connections.admit(res, () => aborted.abort())) return sendError(request, reply, opts.connections.refusal(), opts.isProduction, info.path);
      res.once('close', () => aborted.abort());
      let ctx: Context | undefined;
      let events: AsyncIterable<unknown>;
      try {
        ctx = await opts.createContext({ req: request, res: reply, call: { door: 'rest', batched: false } });
        events = (await procedure({ ctx, path: info.path, type: 'subscription', getRawInput: async () => input, signal: aborted.signal, batchIndex: 0 })) as AsyncIterable<unknown>;
      } catch (cause) {
        return sendError(request, reply, cause, opts.isProduction, info.path, ctx);
      }
      // From here on the response is ours: headers Fastify's hooks set so far (CORS, request id) go with it.
      reply.hijack();
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
        // The connection ends with the stream (a client reconnects anyway), so a server
        // that ends its streams at shutdown is not kept waiting by idle keep-alive sockets.
        connection: 'close',
      });
      res.write(': connected\n\n');
      const heartbeat = setInterval(() => res.write(': ping\n\n'), opts.heartbeatMs);
      try {
        for await (const value of withAbort(events, aborted.signal)) {
          const [id, data] = isTrackedEnvelope(value) ? [value[0], value[1]] : [undefined, value];
          const json = cachedJson(data) ?? JSON.stringify(data);
          const ok = res.write(id === undefined ? `data: ${json}\n\n` : `id: ${id}\ndata: ${json}\n\n`);
          if (!ok && !res.destroyed) await drained(res, aborted.signal);
        }
      } catch (error) {
        request.log.error({ err: error, procedure: info.path }, 'live stream failed');
      } finally {
        clearInterval(heartbeat);
        if (!res.writableEnded) res.end();
      }
    },
  });
}

function sendError(request: FastifyRequest, reply: FastifyReply, cause: unknown, isProduction: boolean, path: string, ctx?: Context) {
  const error = getTRPCErrorFromUnknown(cause);
  const body: ErrorBody = toErrorBody(error, { isProduction });
  if (body.code === 'INTERNAL_SERVER_ERROR') request.log.error({ err: error.cause ?? error, procedure: path, userId: ctx?.actor?.userId }, 'procedure failed');
  return reply.code(HTTP_STATUS[body.code]).headers(errorHeaders(error)).send(body);
}

/** Iterates `source` until `signal` aborts, returning the source (so its cleanup runs) either way. */
async function* withAbort<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const stopped = new Promise<IteratorResult<T>>((resolve) => {
    if (signal.aborted) resolve({ done: true, value: undefined });
    signal.addEventListener('abort', () => resolve({ done: true, value: undefined }), { once: true });
  });
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), stopped]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    void iterator.return?.()?.catch(() => {});
  }
}

/** Resolves when `res` can take more, or when `signal` aborts (the client left). */
export function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
