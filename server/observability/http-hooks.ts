import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { httpRequestDuration, httpRequestsInFlight, rateLimitRejections } from './metrics.ts';
import { newRequestTimings, runWithTimings, trackDbTime, type DbTimeMode, type RequestTimings } from './request-timings.ts';
import { isTracing, otelContext, otelPropagation, otelTrace, SpanKind, SpanStatusCode, tracer, type OtelContext, type Span } from './tracing.ts';

/** What the doors tell the observability hooks about a request: which procedure, through which door. */
export interface ProcedureLabel {
  procedure: string;
  door: 'rest' | 'trpc';
}

interface Observed {
  /** Only while the slow-request line is on. */
  timings: RequestTimings | undefined;
  label?: ProcedureLabel;
  span?: Span;
  otel?: OtelContext;
}

const OBSERVED = Symbol('duality.observed');
type ObservedRequest = FastifyRequest & { [OBSERVED]?: Observed };

/** Called by a door once it knows the procedure a request is for (labels metrics, names the span). */
export function labelRequest(request: FastifyRequest, label: ProcedureLabel): void {
  const observed = (request as ObservedRequest)[OBSERVED];
  if (!observed) return;
  observed.label = label;
  observed.span?.setAttribute('duality.procedure', label.procedure);
}

export interface ObservabilityHookOptions {
  /** Requests slower than this get one warn line with their timings; 0 turns it off. */
  slowRequestMs: number;
  /** When that line measures time in SQL (`SLOW_REQUEST_DB_TIME`); default `auto`. */
  slowRequestDbTime?: DbTimeMode;
}

/**
 * Per request: the HTTP server span (when tracing), the in-flight gauge, the duration
 * histogram by procedure, door and status, 429 counts, and the slow-request line.
 *
 * The span and the timings are made current with AsyncLocalStorage in `onRequest`,
 * and again in `preHandler`: body parsing continues from the socket's own async
 * context, which would otherwise lose them before the handler runs.
 */
export function registerObservabilityHooks(fastify: FastifyInstance, opts: ObservabilityHookOptions): void {
  const timed = opts.slowRequestMs > 0;
  // Decided once: tracing is on or off for the life of the process.
  const dbTracked = timed && trackDbTime(opts.slowRequestDbTime ?? 'auto', isTracing());
  /** Runs the rest of the request with its span and (SQL-timed) timings current, whichever it has. */
  const enter = (observed: Observed, done: () => void) => {
    const next = observed.timings?.dbTracked ? () => runWithTimings(observed.timings!, done) : done;
    if (observed.otel) otelContext.with(observed.otel, next);
    else next();
  };

  fastify.addHook('onRequest', (request, reply, done) => {
    httpRequestsInFlight.inc();
    const observed: Observed = { timings: timed ? newRequestTimings(dbTracked) : undefined };
    (request as ObservedRequest)[OBSERVED] = observed;
    if (!isTracing()) return enter(observed, done);

    const route = request.routeOptions.url ?? '(unmatched)';
    const parent = otelPropagation.extract(otelContext.active(), request.headers);
    const span = tracer.startSpan(
      `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method, 'http.route': route, 'url.path': request.url.split('?')[0]!, 'client.address': request.ip, 'duality.request_id': String(request.id) },
      },
      parent,
    );
    observed.span = span;
    observed.otel = otelTrace.setSpan(parent, span);
    // Every log line of this request (Fastify's own included) carries the trace.
    const { traceId, spanId } = span.spanContext();
    request.log = request.log.child({ trace_id: traceId, span_id: spanId });
    (reply as { log: unknown }).log = request.log;
    enter(observed, done);
  });

  fastify.addHook('preHandler', (request, _reply, done) => {
    const observed = (request as ObservedRequest)[OBSERVED];
    if (!observed?.timings?.dbTracked && !observed?.otel) return done();
    enter(observed, done);
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    const observed = (request as ObservedRequest)[OBSERVED];
    if (!observed) return done();
    httpRequestsInFlight.dec();
    const status = reply.statusCode;
    const seconds = reply.elapsedTime / 1000;
    const procedure = observed.label?.procedure ?? request.routeOptions.url ?? '(unmatched)';
    const door = observed.label?.door ?? 'other';
    httpRequestDuration.observe({ procedure, door, status: String(status) }, seconds);
    if (status === 429) rateLimitRejections.inc({ procedure });
    if (observed.span) endSpan(observed.span, status);
    if (observed.timings && reply.elapsedTime > opts.slowRequestMs) logSlow(request, reply, observed.timings, procedure);
    done();
  });
}

function endSpan(span: Span, status: number): void {
  span.setAttribute('http.response.status_code', status);
  // Server spans are errors on 5xx only: a 404 or 401 is the server working as designed.
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

function logSlow(request: FastifyRequest, reply: FastifyReply, t: RequestTimings, procedure: string): void {
  const round = (ms: number) => Math.round(ms * 10) / 10;
  request.log.warn(
    {
      procedure,
      statusCode: reply.statusCode,
      durationMs: round(reply.elapsedTime),
      ...(t.dbTracked ? { dbMs: round(t.dbMs), dbQueries: t.dbQueries } : {}),
      handlerMs: round(t.handlerMs),
    },
    `slow request: ${request.method} ${request.url.split('?')[0]} took ${Math.round(reply.elapsedTime)} ms`,
  );
}

/** The timings of a request, for the procedure calls it runs to add their time to; undefined when not kept. */
export function timingsOf(request: FastifyRequest | undefined): RequestTimings | undefined {
  return request ? (request as ObservedRequest)[OBSERVED]?.timings : undefined;
}

/** The door a request came through, as its door labelled it; undefined for calls not made over HTTP. */
export function doorOf(request: FastifyRequest | undefined): ProcedureLabel['door'] | undefined {
  return request ? (request as ObservedRequest)[OBSERVED]?.label?.door : undefined;
}
