import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEventEnvelope } from '../../server/app.ts';
import { deliveryTask } from '../../server/events/bus.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeUser } from '../helpers/factories.ts';
import { fastForwardRetries, queuedJobs, waitFor, waitForIdleQueue } from '../helpers/jobs.ts';
import { mailFiles, parseMail } from '../helpers/mail.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
/** An admin: product writes need their permissions, and the admin is the events' actor. */
let admin: { id: string; headers: Record<string, string> };

/** Calls of the test subscribers, by event id. */
const flakyCalls = new Map<string, number>();
const flakyHandled = new Map<string, number>();
const recorded: AppEventEnvelope<'product.archived'>[] = [];

beforeAll(async () => {
  t = await startTestApp();
  // Test subscribers sit beside the real ones (analytics, notifications), registered
  // before the worker starts, the way modules register theirs.
  t.app.events.subscribe(
    'product.created',
    'test.flaky',
    async (event) => {
      if (!event.payload.name.startsWith('Flaky')) return;
      const calls = (flakyCalls.get(event.id) ?? 0) + 1;
      flakyCalls.set(event.id, calls);
      if (calls <= 2) throw new Error(`flaky failure ${calls}`);
      flakyHandled.set(event.id, (flakyHandled.get(event.id) ?? 0) + 1);
    },
    { maxAttempts: 5 },
  );
  t.app.events.subscribe('product.archived', 'test.recorder', async (event) => {
    recorded.push(event);
  });
  await t.app.startWorker();
  const { user, token } = await signedInUser(t, { roles: ['admin'] });
  admin = { id: user.id, headers: bearer(token) };
});
afterAll(() => t.close());

const analyticsRows = (eventId: string) => t.app.db('analytics_events').where({ eventId });

describe('publishing from a service (products)', () => {
  it('POST /products commits the product and its event; every subscriber gets it once, the flaky one after two retries', async () => {
    const created = await t.rest('POST', '/products', { body: { name: 'Flaky evented', price: '3.50' }, headers: admin.headers });
    expect(created.status).toBe(201);

    // Analytics is not held up by the flaky subscriber failing beside it.
    const [row] = await waitFor(async () => {
      const rows = await t.app.db('analytics_events').where({ name: 'product.created' }).whereRaw(`properties->>'productId' = ?`, [created.body.id]);
      return rows.length ? rows : undefined;
    }, 'the analytics row');
    expect(row).toMatchObject({ name: 'product.created', userId: admin.id, properties: { productId: created.body.id, price: '3.50' } });
    const eventId: string = row.eventId;

    // First failure: graphile-worker's backoff pushed the retry e^1 s past creation.
    const [first] = await waitFor(async () => {
      const jobs = await queuedJobs(t.app.db, deliveryTask('product.created', 'test.flaky'));
      return jobs.length === 1 && jobs[0]!.attempts === 1 && !jobs[0]!.locked ? jobs : undefined;
    }, 'the first failed attempt');
    expect(first!.lastError).toContain('flaky failure 1');
    expect(first!.maxAttempts).toBe(5);
    expect(first!.runAt.getTime() - first!.createdAt.getTime()).toBeGreaterThanOrEqual(Math.floor(Math.E * 1000));

    expect(await fastForwardRetries(t.app.db)).toBe(1);
    const [second] = await waitFor(async () => {
      const jobs = await queuedJobs(t.app.db, deliveryTask('product.created', 'test.flaky'));
      return jobs.length === 1 && jobs[0]!.attempts === 2 && !jobs[0]!.locked ? jobs : undefined;
    }, 'the second failed attempt');
    expect(second!.lastError).toContain('flaky failure 2');
    expect(second!.runAt.getTime() - second!.createdAt.getTime()).toBeGreaterThanOrEqual(Math.floor(Math.E ** 2 * 1000));

    expect(await fastForwardRetries(t.app.db)).toBe(1);
    await waitForIdleQueue(t.app.db);
    expect(flakyCalls.get(eventId)).toBe(3);
    expect(flakyHandled.get(eventId)).toBe(1);
    expect(await queuedJobs(t.app.db, deliveryTask('product.created', 'test.flaky'))).toEqual([]);
    // The other subscriber was neither blocked nor repeated by those retries.
    expect(await analyticsRows(eventId)).toHaveLength(1);
    const marks = await t.app.db('event_deliveries').where({ eventId }).orderBy('subscriber');
    expect(marks.map((m) => m.subscriber)).toEqual(['analytics.product-created', 'test.flaky']);
  });

  it('archiving (DELETE, or PATCH isActive: false) publishes product.archived with an envelope', async () => {
    const headers = admin.headers;
    const a = await t.rest('POST', '/products', { body: { name: 'To archive', price: '1.00' }, headers });
    const b = await t.rest('POST', '/products', { body: { name: 'To patch away', price: '1.00' }, headers });
    expect((await t.rest('DELETE', `/products/${a.body.id}`, { headers })).status).toBe(204);
    expect((await t.rest('PATCH', `/products/${b.body.id}`, { body: { isActive: false }, headers })).status).toBe(200);
    // Patching an already archived product archives nothing, so publishes nothing.
    expect((await t.rest('PATCH', `/products/${b.body.id}`, { body: { isActive: false, name: 'Renamed' }, headers })).status).toBe(200);
    await waitFor(() => recorded.filter((e) => [a.body.id, b.body.id].includes(e.payload.productId)).length >= 2, 'both archive events');
    await waitForIdleQueue(t.app.db);
    const mine = recorded.filter((e) => [a.body.id, b.body.id].includes(e.payload.productId));
    expect(mine.map((e) => e.payload.productId).sort()).toEqual([a.body.id, b.body.id].sort());
    for (const event of mine) {
      expect(event).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'product.archived',
        occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        actor: { userId: admin.id },
        payload: { productId: expect.any(String) },
      });
    }
  });

  it('a request that fails leaves no event behind', async () => {
    await waitForIdleQueue(t.app.db);
    const missing = await t.rest('DELETE', `/products/${randomUUID()}`, { headers: admin.headers });
    expect(missing.status).toBe(404);
    expect(await queuedJobs(t.app.db)).toEqual([]);
  });
});

describe('transactions', () => {
  const user = () => ({ userId: randomUUID(), email: `${randomUUID()}@example.com`, name: 'Ada Lovelace' });

  it('a publish inside a transaction that then throws enqueues nothing and sends no email', async () => {
    const rolledBack = user();
    await expect(
      t.app.db.transaction(async (trx) => {
        await t.app.events.publish(trx, 'user.created', rolledBack);
        // The jobs exist inside the transaction…
        const { rows } = await trx.raw(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier LIKE 'event:user.created:%'`);
        expect(rows[0].n).toBe(2);
        throw new Error('something after the publish failed');
      }),
    ).rejects.toThrow('something after the publish failed');
    // …and vanish with it. A committed event published afterwards is delivered, so the
    // worker was running: the rolled-back one would have arrived first.
    expect(await queuedJobs(t.app.db, 'event:user.created:')).toEqual([]);
    const committed = user();
    const envelope = await t.app.db.transaction((trx) => t.app.events.publish(trx, 'user.created', committed));
    await waitFor(async () => (await mailFiles(t.dataDir)).has(`welcome-${envelope.id}.eml`), 'the committed welcome email');
    await waitForIdleQueue(t.app.db);
    const mails = [...(await mailFiles(t.dataDir)).values()];
    expect(mails.filter((m) => m.includes(committed.email))).toHaveLength(1);
    expect(mails.filter((m) => m.includes(rolledBack.email))).toHaveLength(0);
    expect(await t.app.db('analytics_events').where({ userId: rolledBack.userId })).toEqual([]);
    expect(await t.app.db('analytics_events').where({ userId: committed.userId })).toHaveLength(1);
  });

  it('a repeated delivery of the same event (as after a crash) sends no second email and records no second row', async () => {
    const u = user();
    const envelope = await t.app.db.transaction((trx) => t.app.events.publish(trx, 'user.created', u));
    await waitFor(async () => (await mailFiles(t.dataDir)).has(`welcome-${envelope.id}.eml`), 'the welcome email');
    await waitForIdleQueue(t.app.db);
    const mailDir = `${t.dataDir}/mail`;
    const fs = await import('node:fs/promises');
    const firstWrite = (await fs.stat(`${mailDir}/welcome-${envelope.id}.eml`)).mtimeMs;

    // Deliver the very same envelope to both subscribers again.
    await t.app.jobs.enqueue(t.app.db, [
      { identifier: deliveryTask('user.created', 'notifications.welcome-email'), payload: envelope },
      { identifier: deliveryTask('user.created', 'analytics.signup'), payload: envelope },
    ]);
    await waitForIdleQueue(t.app.db);
    expect(await analyticsRows(envelope.id)).toHaveLength(1);
    expect((await fs.stat(`${mailDir}/welcome-${envelope.id}.eml`)).mtimeMs).toBe(firstWrite);
    expect([...(await mailFiles(t.dataDir)).values()].filter((m) => m.includes(u.email))).toHaveLength(1);
  });

  it('the welcome email has a plain-text and an HTML part, a fixed subject, and greets a verified owner by name (escaped)', async () => {
    const made = await makeUser(t.app.db, { email: `grace-${randomUUID()}@example.com`, name: 'Grace <Hopper>' });
    const u = { userId: made.id, email: made.email, name: made.name };
    const envelope = await t.app.db.transaction((trx) => t.app.events.publish(trx, 'user.created', u, { userId: u.userId }));
    const eml = await waitFor(async () => (await mailFiles(t.dataDir)).get(`welcome-${envelope.id}.eml`), 'the welcome email');
    const mail = parseMail(eml);
    expect(mail.headers.get('to')).toBe(u.email);
    expect(mail.headers.get('subject')).toBe('Welcome to Duality');
    expect(mail.headers.get('message-id')).toMatch(new RegExp(`^<welcome-${envelope.id}@`));
    expect(mail.headers.get('content-type')).toMatch(/^multipart\/alternative/);
    expect([...mail.parts.keys()]).toEqual(['text/plain', 'text/html']);
    expect(mail.parts.get('text/plain')).toContain('Hello Grace <Hopper>,');
    expect(mail.parts.get('text/plain')).toContain(u.email);
    expect(mail.parts.get('text/html')).toContain('<p>Hello Grace &#60;Hopper&#62;,</p>');
  });
});
