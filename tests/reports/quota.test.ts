import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeReport } from '../helpers/reports.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/** Report requests are limited: unfinished ones per user, and requests per hour. No worker runs here, so queued reports stay pending. */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ MAX_PENDING_REPORTS: '3', REPORT_LIMIT_PER_HOUR: '6' });
});
afterAll(() => t.close());

const generate = (token: string) => t.rest('POST', '/reports', { headers: bearer(token), body: { kind: 'product-catalog' } });

describe('report quota', () => {
  it('a user with MAX_PENDING_REPORTS unfinished reports gets a 429 saying so, on both doors; finished ones do not count', async () => {
    const { user, token } = await signedInUser(t);
    await makeReport(t.app.db, user.id, { status: 'ready' });
    await makeReport(t.app.db, user.id, { status: 'failed' });
    for (let i = 0; i < 3; i++) expect((await generate(token)).status).toBe(202);
    const refused = await generate(token);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ code: 'TOO_MANY_REQUESTS', message: 'You already have 3 reports queued or in progress (at most 3); wait for one to finish' });
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    await expect(t.client(token).reports.generate.mutate({ kind: 'product-catalog' })).rejects.toMatchObject({ data: { httpStatus: 429 } });
    expect(await t.app.db('reports').where({ ownerId: user.id }).whereIn('status', ['pending', 'processing']).count().first()).toEqual({ count: '3' });

    // Another user is not affected.
    expect((await generate((await signedInUser(t)).token)).status).toBe(202);
  });

  it('concurrent requests cannot slip past the cap together', async () => {
    const { user, token } = await signedInUser(t);
    const statuses = (await Promise.all(Array.from({ length: 6 }, () => generate(token)))).map((r) => r.status).sort();
    expect(statuses).toEqual([202, 202, 202, 429, 429, 429]);
    expect(await t.app.db('reports').where({ ownerId: user.id }).count().first()).toEqual({ count: '3' });
  });

  it('REPORT_LIMIT_PER_HOUR counts every request, even when reports finish quickly', async () => {
    const { user, token } = await signedInUser(t);
    for (let i = 0; i < 6; i++) {
      expect((await generate(token)).status).toBe(202);
      await t.app.db('reports').where({ ownerId: user.id }).update({ status: 'failed', errorMessage: 'Done for the test.', completedAt: new Date() });
    }
    const res = await generate(token);
    expect(res.status).toBe(429);
    expect(res.body.message).toBe('Too many report requests, try again later');
  });
});
