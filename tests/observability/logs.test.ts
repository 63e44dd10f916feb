import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeProduct } from '../helpers/factories.ts';
import { waitFor } from '../helpers/jobs.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';
import { asyncContextIsFree } from '../../server/lib/async-context.ts';

let t: TestApp;
const lines: Record<string, any>[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  // Every request is "slow" at 1 ms, so each one gets its timing line, with SQL time forced on.
  t = await startTestApp({ SLOW_REQUEST_MS: '1', SLOW_REQUEST_DB_TIME: 'on' }, { logger: pino({ level: 'info' }, sink) });
});
afterAll(() => t.close());

describe('logs that answer questions', () => {
  it('a slow request gets one warn line with its procedure, DB time, query count and handler time', async () => {
    const product = await makeProduct(t.app.db);
    const res = await t.rest('GET', `/products/${product.id}`);
    const id = res.headers.get('x-request-id');
    const slow = await waitFor(() => lines.filter((l) => l.reqId === id && l.msg.startsWith('slow request')), 'the slow-request line');
    expect(slow).toHaveLength(1);
    const line = slow[0]!;
    expect(line).toMatchObject({ level: 40, procedure: 'products.get', statusCode: 200, dbQueries: 1 });
    expect(line.dbMs).toBeGreaterThan(0);
    expect(line.handlerMs).toBeGreaterThanOrEqual(line.dbMs);
    expect(line.durationMs).toBeGreaterThanOrEqual(line.handlerMs);
  });

  it('SLOW_REQUEST_DB_TIME=auto measures SQL time only where it is free (Node 24+) or while tracing; the rest of the line stays', async () => {
    const own: Record<string, any>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) own.push(JSON.parse(line));
        done();
      },
    });
    const auto = await startTestApp({ SLOW_REQUEST_MS: '1' }, { logger: pino({ level: 'info' }, sink) });
    try {
      const product = await makeProduct(auto.app.db);
      const id = (await auto.rest('GET', `/products/${product.id}`)).headers.get('x-request-id');
      const [line] = await waitFor(() => {
        const found = own.filter((l) => l.reqId === id && String(l.msg).startsWith('slow request'));
        return found.length ? found : undefined;
      }, 'the slow-request line');
      expect(line).toMatchObject({ procedure: 'products.get', statusCode: 200 });
      expect(line!.handlerMs).toBeGreaterThan(0);
      // Tracing is off in tests: on Node 20–22 the SQL time would tax every request, so it is left out.
      expect('dbMs' in line!).toBe(asyncContextIsFree);
    } finally {
      await auto.close();
    }
  });

  it('a procedure failure names the procedure and the user, on both doors', async () => {
    const { user, token } = await signedInUser(t);
    const product = await makeProduct(t.app.db);
    // A fault below the service: the table is gone.
    await t.app.db.raw('ALTER TABLE products RENAME TO products_gone');
    try {
      expect((await t.rest('GET', `/products/${product.id}`, { headers: bearer(token) })).status).toBe(500);
      await expect(t.client(token).products.get.query({ id: product.id })).rejects.toThrow();
    } finally {
      await t.app.db.raw('ALTER TABLE products_gone RENAME TO products');
    }
    const failures = await waitFor(() => {
      const found = lines.filter((l) => l.msg === 'procedure failed' && l.userId === user.id);
      return found.length >= 2 ? found : undefined;
    }, 'two failure lines');
    expect(failures.map((l) => l.procedure)).toEqual(['products.get', 'products.get']);
    expect(failures.every((l) => l.level === 50 && l.err)).toBe(true);
  });
});
