import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type TracingHandle } from '../../server/observability/tracing.ts';
import { DEFAULT_PASSWORD } from '../helpers/factories.ts';
import { waitFor } from '../helpers/jobs.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

// Tracing is process-wide: this file's process gets an SDK with an in-memory exporter
// before the app (and so knex's pg driver) is built.
const exporter = new InMemorySpanExporter();
let tracing: TracingHandle;
let t: TestApp;
const logLines: Record<string, any>[] = [];

beforeAll(async () => {
  tracing = await startTracing({ role: 'test', spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  t = await startTestApp({ LOG_LEVEL: 'info' }, { worker: true, logger: pino({ level: 'info' }, sink) });
});
afterAll(async () => {
  await t.close();
  await tracing.shutdown();
});

const spans = () => exporter.getFinishedSpans();
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe('a sign-up is one trace, from the HTTP request to the welcome mail', () => {
  it('HTTP span → auth.signUp → SQL, and the welcome delivery (run by the worker) continues the same trace, linked to its publisher', async () => {
    const res = await t.rest('POST', '/auth/sign-up', { body: { email: 'trace@example.com', name: 'Trace', password: DEFAULT_PASSWORD } });
    expect(res.status).toBe(202);

    const http = await waitFor(() => spans().find((s) => s.name === 'POST /api/v1/auth/sign-up'), 'the HTTP span');
    const traceId = http.spanContext().traceId;
    expect(http.attributes['http.response.status_code']).toBe(202);
    expect(http.parentSpanContext).toBeUndefined();

    const procedure = spans().find((s) => s.name === 'auth.signUp')!;
    expect(procedure).toBeDefined();
    expect(procedure.spanContext().traceId).toBe(traceId);
    expect(parentOf(procedure)).toBe(http.spanContext().spanId);
    expect(procedure.attributes).toMatchObject({ 'duality.door': 'rest', 'duality.outcome': 'OK', 'rpc.method': 'auth.signUp' });

    const sql = spans().filter((s) => s.spanContext().traceId === traceId && s.attributes['db.system.name'] === 'postgresql' && s.name.startsWith('pg.query'));
    expect(sql.length).toBeGreaterThan(0);
    const statements = sql.map((s) => String(s.attributes['db.query.text']));
    const insert = sql.find((s) => /insert into "?users"?/i.test(String(s.attributes['db.query.text'])));
    expect(insert).toBeDefined();
    expect(parentOf(insert!)).toBe(procedure.spanContext().spanId);
    expect(statements.every((q) => !q.includes('trace@example.com'))).toBe(true);
    // Parameter values never reach a span: the email appears in no statement or attribute.
    expect(JSON.stringify(sql.map((s) => s.attributes))).not.toContain('trace@example.com');

    const publish = spans().find((s) => s.name === 'publish user.created' && s.spanContext().traceId === traceId)!;
    expect(publish).toBeDefined();

    const delivery = await waitFor(
      () => spans().find((s) => s.spanContext().traceId === traceId && /^notifications\..*\(user\.created\)$/.test(s.name)),
      'the welcome delivery span',
    );
    expect(parentOf(delivery)).toBe(publish.spanContext().spanId);
    expect(delivery.links.map((l) => l.context.spanId)).toContain(publish.spanContext().spanId);
    expect(delivery.attributes['duality.job.task']).toMatch(/^event:user\.created:notifications\./);

    const mail = await waitFor(() => spans().find((s) => s.name === 'mail.send' && s.spanContext().traceId === traceId), 'the mail.send span');
    expect(parentOf(mail)).toBe(delivery.spanContext().spanId);
  });

  it('carries the signed-in user and the outcome code; the tRPC door is labelled too', async () => {
    expect((await t.rest('POST', '/auth/sign-up', { body: { email: 'who@example.com', name: 'Who', password: DEFAULT_PASSWORD } })).status).toBe(202);
    const signIn = await t.rest('POST', '/auth/sign-in', { body: { email: 'who@example.com', password: DEFAULT_PASSWORD } });
    const token = signIn.body.token as string;
    await t.client(token).users.me.query();
    const me = await waitFor(() => spans().find((s) => s.name === 'users.me' && s.attributes['duality.door'] === 'trpc'), 'the users.me span');
    expect(me.attributes['enduser.id']).toBe(signIn.body.user.id);
    expect(me.attributes['duality.outcome']).toBe('OK');

    await t.rest('GET', '/products/00000000-0000-4000-8000-000000000000');
    const missing = await waitFor(() => spans().find((s) => s.name === 'products.get' && s.attributes['duality.outcome'] === 'NOT_FOUND'), 'the products.get span');
    expect(missing.attributes['duality.door']).toBe('rest');
  });

  it('every log line inside a request carries its trace and span ids', async () => {
    const res = await t.rest('GET', '/products?size=1', { headers: { 'x-request-id': 'log-trace-check' } });
    expect(res.status).toBe(200);
    const http = await waitFor(() => spans().find((s) => s.name === 'GET /api/v1/products' && s.attributes['duality.request_id'] === res.headers.get('x-request-id')), 'the list span');
    const lines = await waitFor(() => {
      const found = logLines.filter((l) => l.reqId === res.headers.get('x-request-id') && l.msg === 'request completed');
      return found.length ? found : undefined;
    }, 'the request log line');
    expect(lines[0]!.trace_id).toBe(http.spanContext().traceId);
    expect(lines[0]!.span_id).toBe(http.spanContext().spanId);
  });

  it('an incoming traceparent is continued', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await t.rest('GET', '/products?size=1', { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    const http = await waitFor(() => spans().find((s) => s.spanContext().traceId === traceId && s.name === 'GET /api/v1/products'), 'the continued span');
    expect(http.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  });
});
