import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { DEFAULT_PASSWORD } from '../helpers/factories.ts';
import { waitFor, waitForIdleQueue } from '../helpers/jobs.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Logs go to aggregators that many people read and that keep lines for months: at
 * info level, neither our job lines nor graphile-worker's own carry a payload or
 * personal data. The whole path of a sign-up (event deliveries, the welcome mail) and a
 * report (generation, the ready mail) runs at info, and no line may name the person.
 */
let t: TestApp;
const lines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  t = await startTestApp({}, { logger: pino({ level: 'info' }, sink), worker: true });
});
afterAll(() => t?.close());

describe('worker logs at info level', () => {
  it('name no one: no email, no name, no payload in any line of a sign-up and a report', async () => {
    const email = 'private.person@example.com';
    const name = 'Zebulon Quarterfield';
    const signUp = await t.rest('POST', '/auth/sign-up', { body: { email, name, password: DEFAULT_PASSWORD } });
    expect(signUp.status).toBeLessThan(300);

    const { token } = await signedInUser(t, { email: 'report.owner@example.com', name: 'Philippa Reportwright' });
    const report = await t.rest('POST', '/reports', { body: { kind: 'product-catalog' }, headers: bearer(token) });
    expect(report.status).toBe(202);
    await waitFor(async () => (await t.rest('GET', `/reports/${report.body.id}`, { headers: bearer(token) })).body.status === 'ready', 'the report');
    await waitForIdleQueue(t.app.db);

    // The worker did log its jobs (so the check below is not vacuous)...
    const jobLines = lines.filter((l) => /"task":|"worker":/.test(l));
    expect(jobLines.length).toBeGreaterThan(0);
    // ...and no line names the people or carries a payload.
    for (const secret of [email, name, 'report.owner@example.com', 'Philippa Reportwright', '"payload"']) {
      expect(lines.filter((l) => l.includes(secret)), secret).toEqual([]);
    }
  });
});
