import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
let adminToken: string;
const alice = randomUUID();

beforeAll(async () => {
  t = await startTestApp();
  ({ token: adminToken } = await signedInUser(t, { roles: ['admin'] }));
  // Recorded the way subscribers record them, oldest first.
  const base = Date.parse('2026-11-01T00:00:00Z');
  await t.app.db.transaction(async (trx) => {
    for (let i = 0; i < 25; i++) {
      await t.app.services.analytics.track(trx, {
        name: i % 5 === 0 ? 'user.signed_up' : 'product.created',
        userId: i % 5 === 0 ? alice : null,
        properties: { n: i },
        occurredAt: new Date(base + i * 60_000),
        eventId: randomUUID(),
      });
    }
  });
});
afterAll(() => t.close());

describe('GET /api/v1/analytics/events (analytics.list)', () => {
  it('needs a session (401) holding analytics:read (403)', async () => {
    expect((await t.rest('GET', '/analytics/events')).status).toBe(401);
    const { token: member } = await signedInUser(t);
    const refused = await t.rest('GET', '/analytics/events', { headers: bearer(member) });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ code: 'FORBIDDEN', message: 'Requires permission analytics:read' });
  });

  it('pages newest first', async () => {
    const first = await t.rest('GET', '/analytics/events?size=10', { headers: bearer(adminToken) });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ total: 25, page: 1, size: 10, pages: 3 });
    expect(first.body.items.map((e: { properties: { n: number } }) => e.properties.n)).toEqual([24, 23, 22, 21, 20, 19, 18, 17, 16, 15]);
    expect(first.body.items[0]).toEqual({
      id: expect.any(String),
      name: 'product.created',
      userId: null,
      properties: { n: 24 },
      occurredAt: '2026-11-01T00:24:00.000Z',
      eventId: expect.any(String),
    });
    const last = await t.rest('GET', '/analytics/events?size=10&page=3', { headers: bearer(adminToken) });
    expect(last.body.items.map((e: { properties: { n: number } }) => e.properties.n)).toEqual([4, 3, 2, 1, 0]);
  });

  it('filters by name and by user, over the typed client too', async () => {
    const api = t.client(adminToken);
    const signups = await api.analytics.list.query({ name: 'user.signed_up' });
    expect(signups.total).toBe(5);
    expect(signups.items.every((e) => e.name === 'user.signed_up' && e.userId === alice)).toBe(true);
    const byUser = await t.rest('GET', `/analytics/events?userId=${alice}&size=2`, { headers: bearer(adminToken) });
    expect(byUser.body).toMatchObject({ total: 5, pages: 3 });
    expect((await t.rest('GET', '/analytics/events?userId=nope', { headers: bearer(adminToken) })).status).toBe(400);
  });

  it('walks by cursor, filters kept, each event once (same timestamps included)', async () => {
    const same = new Date('2026-11-02T00:00:00Z');
    await t.app.db.transaction(async (trx) => {
      for (let i = 0; i < 7; i++) await t.app.services.analytics.track(trx, { name: 'walk.same', userId: alice, occurredAt: same, eventId: randomUUID(), properties: { i } });
    });
    const api = t.client(adminToken);
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.analytics.list.query({ name: 'walk.same', userId: alice, size: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((e) => e.properties.i as number));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const first = await api.analytics.list.query({ name: 'walk.same', size: 3 });
    const other = await t.rest('GET', `/analytics/events?name=user.signed_up&cursor=${encodeURIComponent(first.nextCursor!)}`, { headers: bearer(adminToken) });
    expect(other.status).toBe(400);
  });
});
