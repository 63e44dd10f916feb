import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PASSWORD } from '../helpers/factories.ts';
import { waitFor } from '../helpers/jobs.ts';
import { loggedLine, startRoleProcess, type RoleProcess } from '../helpers/processes.ts';
import { createTestDatabase } from '../helpers/test-app.ts';

/** One span as OTLP/JSON carries it, with the service that sent it. */
interface ReceivedSpan {
  service: string;
  role: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  links: { traceId: string; spanId: string }[];
}

/**
 * A minimal OTLP/HTTP JSON trace receiver: what a collector would get. Decodes
 * resourceSpans → scopeSpans → spans; the ids are hex strings in OTLP/JSON.
 */
function startReceiver() {
  const spans: ReceivedSpan[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json')) {
        const data = JSON.parse(body) as { resourceSpans: any[] };
        for (const rs of data.resourceSpans) {
          const attr = (key: string) => rs.resource.attributes.find((a: any) => a.key === key)?.value.stringValue as string;
          for (const ss of rs.scopeSpans) {
            for (const s of ss.spans) {
              spans.push({ service: attr('service.name'), role: attr('duality.role'), traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, links: s.links ?? [] });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return { spans, server };
}

const receiver = startReceiver();
let serve: RoleProcess;
let worker: RoleProcess;
let drop: () => Promise<void>;

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
  const database = await createTestDatabase();
  drop = database.drop;
  const env = {
    DATABASE_URL: database.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_SERVICE_NAME: 'duality-test',
    WORKER_POLL_INTERVAL_MS: '100',
  };
  serve = startRoleProcess('serve', env);
  worker = startRoleProcess('worker', env);
  await waitFor(() => serve.lines.find((l) => typeof l.api === 'string'), 'the server', 60_000);
  await waitFor(() => loggedLine(worker, 'worker running'), 'the worker', 60_000);
}, 90_000);

afterAll(async () => {
  serve?.child.kill('SIGTERM');
  worker?.child.kill('SIGTERM');
  await Promise.all([serve?.exit, worker?.exit]);
  await drop?.();
  receiver.server.close();
});

describe('one trace across two processes, exported over OTLP', () => {
  it('the server exports HTTP → auth.signUp → SQL; the worker exports the welcome delivery in the same trace, linked to the publish span', async () => {
    const base = String(serve.lines.find((l) => typeof l.api === 'string')!.api);
    const res = await fetch(`${base}/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'otlp@example.com', name: 'Otlp', password: DEFAULT_PASSWORD }),
    });
    expect(res.status).toBe(202);

    const signUp = await waitFor(() => receiver.spans.find((s) => s.name === 'auth.signUp'), 'the auth.signUp span from the server', 30_000);
    expect(signUp).toMatchObject({ service: 'duality-test', role: 'serve' });
    const trace = () => receiver.spans.filter((s) => s.traceId === signUp.traceId);
    const httpSpan = trace().find((s) => s.name === 'POST /api/v1/auth/sign-up')!;
    expect(signUp.parentSpanId).toBe(httpSpan.spanId);
    expect(trace().some((s) => s.name.startsWith('pg.query') && s.role === 'serve')).toBe(true);
    const publish = trace().find((s) => s.name === 'publish user.created')!;

    const delivery = await waitFor(() => trace().find((s) => s.role === 'worker' && /^notifications\..*\(user\.created\)$/.test(s.name)), 'the delivery span from the worker', 30_000);
    expect(delivery.parentSpanId).toBe(publish.spanId);
    expect(delivery.links).toEqual([expect.objectContaining({ traceId: signUp.traceId, spanId: publish.spanId })]);
    await waitFor(() => trace().find((s) => s.role === 'worker' && s.name === 'mail.send' && s.parentSpanId === delivery.spanId), 'the mail.send span', 30_000);
    expect(trace().some((s) => s.role === 'worker' && s.name.startsWith('pg.query'))).toBe(true);

    // The worker's log lines for this job carry the same trace id: the mail line, written
    // by the mailer's own logger, included.
    const mailLine = await waitFor(() => worker.lines.find((l) => l.trace_id === signUp.traceId && typeof l.mail === 'object'), 'the mail log line with the trace id', 10_000);
    expect(mailLine.span_id).toBeTruthy();
  });
});
