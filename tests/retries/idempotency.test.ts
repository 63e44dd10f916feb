import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import superjson from 'superjson';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { queuedJobs } from '../helpers/jobs.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
let admin: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = (await signedInUser(t, { roles: ['admin'] })).token;
});
afterAll(() => t.close());

/** A REST call whose body is kept as text, to compare replays byte for byte. */
async function post(path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${t.url}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
const countProducts = async (name: string) => Number((await t.app.db('products').where({ name }).count<{ count: string }[]>('* as count'))[0]!.count);

describe('Idempotency-Key on REST mutations', () => {
  it('replays a create byte for byte, once written: one row, one event delivery', async () => {
    const key = randomUUID();
    const name = `Keyed ${key}`;
    const first = await post('/products', { name, price: '5.00' }, { ...bearer(admin), 'idempotency-key': key });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const jobsAfterFirst = (await queuedJobs(t.app.db, 'event:product.created')).length;

    const retry = await post('/products', { name, price: '5.00' }, { ...bearer(admin), 'idempotency-key': key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.text).toBe(first.text);
    expect(await countProducts(name)).toBe(1);
    expect((await queuedJobs(t.app.db, 'event:product.created')).length).toBe(jobsAfterFirst);
  });

  it('without a key, the same request runs twice (the default is unchanged)', async () => {
    const name = `Unkeyed ${randomUUID()}`;
    await post('/products', { name, price: '5.00' }, bearer(admin));
    await post('/products', { name, price: '5.00' }, bearer(admin));
    expect(await countProducts(name)).toBe(2);
  });

  it('20 parallel requests with one key: exactly one runs; the others get 409 with Retry-After or the replay', async () => {
    const key = randomUUID();
    const name = `Parallel ${key}`;
    const results = await Promise.all(Array.from({ length: 20 }, () => post('/products', { name, price: '1.00' }, { ...bearer(admin), 'idempotency-key': key })));
    expect(await countProducts(name)).toBe(1);
    const created = results.filter((r) => r.status === 201);
    const busy = results.filter((r) => r.status === 409);
    expect(created.length + busy.length).toBe(20);
    expect(created.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    expect(new Set(created.map((r) => r.text)).size).toBe(1);
    for (const r of busy) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(JSON.parse(r.text)).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('still being processed') });
    }
    // Once the first has finished, a retry is a replay.
    const later = await post('/products', { name, price: '1.00' }, { ...bearer(admin), 'idempotency-key': key });
    expect(later.status).toBe(201);
    expect(later.headers.get('idempotent-replayed')).toBe('true');
  });

  it('the same key with a different request is 422, and nothing more is written', async () => {
    const key = randomUUID();
    const name = `Mismatch ${key}`;
    expect((await post('/products', { name, price: '2.00' }, { ...bearer(admin), 'idempotency-key': key })).status).toBe(201);
    const other = await post('/products', { name, price: '3.00' }, { ...bearer(admin), 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect(JSON.parse(other.text)).toEqual({ code: 'UNPROCESSABLE_CONTENT', message: expect.stringContaining('different request') });
    // Another procedure with the same key is another request too.
    const report = await post('/reports', { kind: 'product-catalog' }, { ...bearer(admin), 'idempotency-key': key });
    expect(report.status).toBe(422);
    expect(await countProducts(name)).toBe(1);
  });

  it("keys belong to their caller: another user's identical key runs on its own and sees nothing of the first", async () => {
    const other = await signedInUser(t, { roles: ['admin'] });
    const key = randomUUID();
    const name = `Cross ${key}`;
    const mine = await post('/products', { name, price: '2.00' }, { ...bearer(admin), 'idempotency-key': key });
    const theirs = await post('/products', { name, price: '2.00' }, { ...bearer(other.token), 'idempotency-key': key });
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(JSON.parse(theirs.text).id).not.toBe(JSON.parse(mine.text).id);
    expect(await countProducts(name)).toBe(2);
  });

  it('refuses empty, over-long and non-ASCII keys with 400', async () => {
    for (const key of ['', 'x'.repeat(256), 'has space']) {
      const res = await post('/products', { name: 'Never', price: '1.00' }, { ...bearer(admin), 'idempotency-key': key });
      expect(res.status, JSON.stringify(key)).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'BAD_REQUEST', issues: [{ path: ['Idempotency-Key'] }] });
    }
    // fetch refuses to send non-Latin-1 header values; é (0xE9) is Latin-1 and goes through as one byte.
    const res = await post('/products', { name: 'Never', price: '1.00' }, { ...bearer(admin), 'idempotency-key': 'cl\u00e9' });
    expect(res.status).toBe(400);
    expect(await countProducts('Never')).toBe(0);
    expect((await post('/products', { name: 'Long ok', price: '1.00' }, { ...bearer(admin), 'idempotency-key': 'k'.repeat(255) })).status).toBe(201);
  });

  it('stores a 4xx and replays it as the same 4xx: invalid input, then a wrong verification code', async () => {
    const key = randomUUID();
    const bad = await post('/products', { name: '', price: '-1' }, { ...bearer(admin), 'idempotency-key': key });
    expect(bad.status).toBe(400);
    const again = await post('/products', { name: '', price: '-1' }, { ...bearer(admin), 'idempotency-key': key });
    expect(again.status).toBe(400);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(bad.text);

    const dupKey = randomUUID();
    const body = { token: 'a'.repeat(32) };
    const conflict = await post('/auth/verify-email', body, { 'idempotency-key': dupKey });
    expect(conflict.status).toBe(400);
    const replayed = await post('/auth/verify-email', body, { 'idempotency-key': dupKey });
    expect(replayed.status).toBe(400);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.text).toBe(conflict.text);
  });

  it('a retried sign-up makes one account and one welcome mail job, with the identical body', async () => {
    const key = randomUUID();
    const body = { email: `signup-${key}@example.com`, name: 'Once', password: 'correct horse battery staple' };
    const first = await post('/auth/sign-up', body, { 'idempotency-key': key });
    const retry = await post('/auth/sign-up', body, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    expect(retry.status).toBe(202);
    expect(retry.text).toBe(first.text);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await t.app.db('users').where({ email: body.email }).count<{ count: string }[]>('* as count')).toEqual([{ count: '1' }]);
    // One delivery per subscriber (the welcome mail among them), not two.
    const mine = await t.app.db.raw(`SELECT t.identifier AS task_identifier FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id
        WHERE t.identifier LIKE 'event:user.created:%' AND j.payload->'payload'->>'email' = ?`, [body.email]);
    expect(mine.rows.map((r: { task_identifier: string }) => r.task_identifier).sort()).toEqual(t.app.events.subscribersOf('user.created').map((s) => `event:user.created:${s}`).sort());
    expect(t.app.events.subscribersOf('user.created')).toContain('notifications.welcome-email');
    // Without a session, a different request under the same key is refused, not replayed.
    expect((await post('/auth/sign-up', { ...body, name: 'Other' }, { 'idempotency-key': key })).status).toBe(422);
  });

  it('a retried report generation queues one report and one job', async () => {
    const { token, user } = await signedInUser(t);
    const key = randomUUID();
    const first = await post('/reports', { kind: 'product-catalog' }, { ...bearer(token), 'idempotency-key': key });
    const retry = await post('/reports', { kind: 'product-catalog' }, { ...bearer(token), 'idempotency-key': key });
    expect(first.status).toBe(202);
    expect(retry.status).toBe(202);
    expect(retry.text).toBe(first.text);
    expect(await t.app.db('reports').where({ owner_id: user.id }).count<{ count: string }[]>('* as count')).toEqual([{ count: '1' }]);
    const jobs = await t.app.db.raw(`SELECT count(*)::int AS n FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id
        WHERE t.identifier = 'report.generate' AND j.payload->>'reportId' = ?`, [JSON.parse(first.text).id]);
    expect(jobs.rows[0].n).toBe(1);
  });

  it('a key past its lifetime runs again; the cleanup task removes expired records', async () => {
    const key = randomUUID();
    const name = `Expired ${key}`;
    await post('/products', { name, price: '1.00' }, { ...bearer(admin), 'idempotency-key': key });
    await t.app.db('idempotency_keys').where({ key }).update({ expires_at: t.app.db.raw("now() - interval '1 second'") });
    const again = await post('/products', { name, price: '1.00' }, { ...bearer(admin), 'idempotency-key': key });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(await countProducts(name)).toBe(2);

    await t.app.db('idempotency_keys').where({ key }).update({ expires_at: t.app.db.raw("now() - interval '1 second'") });
    expect(await t.app.pipeline.idempotency.removeExpired(t.app.db)).toBeGreaterThanOrEqual(1);
    expect(await t.app.db('idempotency_keys').where({ key })).toHaveLength(0);
    expect(t.app.jobs.schedules()).toContainEqual({ task: 'idempotency.cleanup', match: '*/15 * * * *' });
  });

  it('keys are ignored on reads and on auth.signIn (whose response is a secret)', async () => {
    const key = randomUUID();
    const list = await fetch(`${t.url}/api/v1/products`, { headers: { 'idempotency-key': key } });
    expect(list.status).toBe(200);
    expect(await t.app.db('idempotency_keys').where({ key })).toHaveLength(0);
  });
});

describe('Idempotency-Key on the tRPC door', () => {
  const trpcPost = async (path: string, input: unknown, headers: Record<string, string>, batch = false) => {
    const body = batch ? JSON.stringify({ 0: superjson.serialize(input), 1: superjson.serialize(input) }) : JSON.stringify(superjson.serialize(input));
    const res = await fetch(`${t.url}/trpc/${batch ? `${path},${path}?batch=1` : path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  it('replays a single mutation, with the header', async () => {
    const key = randomUUID();
    const name = `tRPC ${key}`;
    const first = await trpcPost('products.create', { name, price: '4.00' }, { ...bearer(admin), 'idempotency-key': key });
    const retry = await trpcPost('products.create', { name, price: '4.00' }, { ...bearer(admin), 'idempotency-key': key });
    expect(first.status).toBe(200);
    expect(retry.text).toBe(first.text);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await countProducts(name)).toBe(1);
  });

  it('refuses a key on a batch of several calls with 400, running none of them', async () => {
    const name = `Batch ${randomUUID()}`;
    const res = await trpcPost('products.create', { name, price: '4.00' }, { ...bearer(admin), 'idempotency-key': randomUUID() }, true);
    expect(res.status).toBe(400);
    expect(res.text).toContain('batches several');
    expect(await countProducts(name)).toBe(0);
  });

  it('the typed client with withIdempotency retries under one key', async () => {
    const { withIdempotency } = await import('../../client/index.ts');
    const name = `Client ${randomUUID()}`;
    let calls = 0;
    // A fetch that loses the first response after the server has answered it.
    const flaky: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      calls += 1;
      if (calls === 1) throw new TypeError('fetch failed (response lost)');
      return res;
    };
    const { createClient } = await import('../../client/index.ts');
    const api = createClient({ url: t.url, token: admin, fetch: flaky });
    const create = withIdempotency(api.products.create, { retries: 2, delayMs: 10 });
    const product = await create({ name, price: '6.00' });
    expect(product.name).toBe(name);
    expect(calls).toBe(2);
    expect(await countProducts(name)).toBe(1);
  });
});
