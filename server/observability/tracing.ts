import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context as OtelContext, type Link, type Span } from '@opentelemetry/api';

/**
 * OpenTelemetry tracing, configured by the standard OTEL_* variables and off unless
 * they ask for it. When off, the SDK is not even loaded and every helper here is one
 * boolean check: the hot path pays nothing else (measured in `npm run bench`).
 */

let enabled = false;

/** The tracer every span of ours comes from. A no-op until `startTracing` registers the SDK. */
export const tracer = trace.getTracer('duality');

/** True once `startTracing` has registered an SDK in this process. */
export function isTracing(): boolean {
  return enabled;
}

/**
 * Whether the environment asks for tracing: an OTLP endpoint, or an explicit
 * OTEL_TRACES_EXPORTER other than `none`, and OTEL_SDK_DISABLED not `true`.
 */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter) return exporter !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** A started SDK: flush and stop it on shutdown, so the last spans are exported. */
export interface TracingHandle {
  shutdown(): Promise<void>;
}

/** Span processors a test hands in (e.g. an in-memory exporter) instead of the OTLP exporter from the environment. */
export interface TracingOptions {
  /** Resource attribute `duality.role`: all, serve or worker. */
  role: string;
  /** Default service name when OTEL_SERVICE_NAME is unset. */
  serviceName?: string;
  spanProcessors?: import('@opentelemetry/sdk-trace-base').SpanProcessor[];
}

/**
 * Starts the Node SDK: exporter, sampler and resource from the standard variables
 * (OTEL_EXPORTER_OTLP_*, OTEL_TRACES_SAMPLER(_ARG), OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES), W3C trace context propagation, and the `pg`
 * instrumentation for SQL spans. Call it before the app (and so knex's `pg`) is loaded.
 */
export async function startTracing(opts: TracingOptions): Promise<TracingHandle> {
  const [{ NodeSDK }, { PgInstrumentation }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/resources'),
  ]);
  const sdk = new NodeSDK({
    ...(process.env.OTEL_SERVICE_NAME ? {} : { serviceName: opts.serviceName ?? 'duality' }),
    resource: resourceFromAttributes({ 'duality.role': opts.role }),
    ...(opts.spanProcessors ? { spanProcessors: opts.spanProcessors } : {}),
    instrumentations: [
      // Only SQL inside a traced operation: the worker's polling would otherwise be a root
      // span every poll interval. Statements are recorded as sent, with $1… placeholders, never values.
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
    ],
  });
  sdk.start();
  enabled = true;
  return {
    async shutdown() {
      enabled = false;
      await sdk.shutdown();
    },
  };
}

/** The W3C trace context of the current span, to carry across a process boundary (a job's payload). */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** The current trace context as a carrier, or undefined when tracing is off or nothing is being traced. */
export function currentTraceCarrier(): TraceCarrier | undefined {
  if (!enabled) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? (carrier as unknown as TraceCarrier) : undefined;
}

/**
 * Runs `fn` inside a span, ending it when `fn` settles. The span is active inside
 * `fn`, so SQL and nested spans become its children. A thrown error is recorded and
 * rethrown.
 */
export function withSpan<T>(name: string, options: { kind?: SpanKind; attributes?: Attributes; links?: Link[]; parent?: OtelContext }, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer.startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {}, links: options.links ?? [] }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * Runs a job or event delivery in a CONSUMER span. With the publisher's carrier, the
 * span continues the publisher's trace (same trace id, so a viewer shows the request
 * and its background work as one story) and links to the publishing span.
 */
export function withJobSpan<T>(name: string, carrier: TraceCarrier | undefined, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = carrier ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
  const publisher = trace.getSpanContext(parent);
  return withSpan(name, { kind: SpanKind.CONSUMER, attributes, parent, links: publisher ? [{ context: publisher }] : [] }, fn);
}

/** Trace and span ids of the active span, for log lines; undefined when nothing is traced. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  if (!enabled) return undefined;
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  // An unsampled span still has ids; they tie log lines together even when not exported.
  void traceFlags;
  return { trace_id: traceId, span_id: spanId };
}

export { SpanKind, SpanStatusCode, context as otelContext, trace as otelTrace, propagation as otelPropagation };
export type { Span, OtelContext };
