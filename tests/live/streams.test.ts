import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCClientError } from '../../client/index.ts';
import { pruneLiveEvents } from '../../server/live/live.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeProduct, makeReport } from '../helpers/factories.ts';
import { waitFor } from '../helpers/jobs.ts';
import { openStream, type OpenStream } from '../helpers/sse.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
let adminToken: string;
const open: OpenStream[] = [];
const changes = (headers: Record<string, string> = {}) => track(openStream(`${t.url}/api/v1/products/changes`, { headers, docPath: '/products/changes' }));
async function track(s: Promise<OpenStream>) {
  const stream = await s;
  open.push(stream);
  return stream;
}

beforeAll(async () => {
  t = await startTestApp({ SSE_MAX_CONNECTIONS: '5', SSE_HEARTBEAT_MS: '300' });
  ({ token: adminToken } = await signedInUser(t, { roles: ['admin'] }));
});
afterAll(async () => {
  for (const s of open) s.close();
  await t.close();
});

const createProduct = (name: string) => t.rest('POST', '/products', { body: { name, price: '3.00' }, headers: bearer(adminToken) });

describe('products.changes over REST (text/event-stream)', () => {
  it('streams created, updated and archived products with ids, heartbeats between them', async () => {
    const stream = await changes();
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const created = await createProduct('Live cup');
    expect(created.status).toBe(201);
    await t.rest('PATCH', `/products/${created.body.id}`, { body: { price: '4.00' }, headers: bearer(adminToken) });
    await t.rest('DELETE', `/products/${created.body.id}`, { headers: bearer(adminToken) });
    const events = [await stream.next(), await stream.next(), await stream.next()];
    expect(events.map((e) => e!.data.type)).toEqual(['product.created', 'product.updated', 'product.archived']);
    expect(events.map((e) => e!.data.product.id)).toEqual([created.body.id, created.body.id, created.body.id]);
    expect(events[1]!.data.product.price).toBe('4.00');
    const ids = events.map((e) => BigInt(e!.id!));
    expect(ids[0]! < ids[1]! && ids[1]! < ids[2]!).toBe(true);
    // Comments are read with the events that follow them: read on (nothing else comes) until one shows.
    await waitFor(async () => (await stream.next(400).catch(() => undefined), stream.comments.includes('ping')), 'a heartbeat comment', 10_000);
    stream.close();
  });

  it('a rolled-back change is never broadcast', async () => {
    const stream = await changes();
    await t.app.db
      .transaction(async (trx) => {
        await t.app.live.publish(trx, 'products', { type: 'product.created', product: { id: 'never' } });
        throw new Error('roll back');
      })
      .catch(() => {});
    const after = await createProduct('After the rollback');
    const event = await stream.next();
    expect(event!.data.product.id).toBe(after.body.id);
    expect(await t.app.db('live_events').whereRaw(`data->'product'->>'id' = 'never'`)).toHaveLength(0);
    stream.close();
  });

  it('reconnecting with Last-Event-ID replays the missed events exactly once, then continues live', async () => {
    const first = await changes();
    const a = await createProduct('Before the drop');
    const seen = await first.next();
    expect(seen!.data.product.id).toBe(a.body.id);
    first.close();
    const missed = [await createProduct('Missed 1'), await createProduct('Missed 2')];
    const resumed = await changes({ 'last-event-id': seen!.id! });
    const replayed = [await resumed.next(), await resumed.next()];
    expect(replayed.map((e) => e!.data.product.id)).toEqual(missed.map((m) => m.body.id));
    const live = await createProduct('Live again');
    const next = await resumed.next();
    expect(next!.data.product.id).toBe(live.body.id);
    resumed.close();
  });

  it('an id older than the retention gets the refetch event, then live events', async () => {
    const old = await createProduct('Soon pruned');
    const [{ id: oldId }] = await t.app.db('live_events').whereRaw(`data->'product'->>'id' = ?`, [old.body.id]).select('id');
    await createProduct('Also pruned');
    await t.app.db('live_events').update({ created_at: t.app.db.raw(`now() - interval '2 hours'`) });
    expect(await pruneLiveEvents(t.app.db, 60)).toBeGreaterThan(0);
    const stream = await changes({ 'last-event-id': String(oldId) });
    const refetch = await stream.next();
    expect(refetch!.data.type).toBe('refetch');
    const live = await createProduct('After the refetch');
    expect((await stream.next())!.data.product.id).toBe(live.body.id);
    stream.close();
  });

  it('an id this server never issued gets the refetch event; a malformed one is a 400', async () => {
    const stream = await changes({ 'last-event-id': '999999999999' });
    expect((await stream.next())!.data.type).toBe('refetch');
    stream.close();
    const bad = await changes({ 'last-event-id': 'abc' });
    expect(bad.status).toBe(400);
    expect(bad.error.code).toBe('BAD_REQUEST');
  });

  it('keeps receiving after the listening connection is killed (pg_terminate_backend)', async () => {
    const stream = await changes();
    const killed = await t.app.db.raw(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'duality-live' AND datname = current_database()`);
    expect(killed.rows).toHaveLength(1);
    // Published while this process may not be listening yet: the stream catches up from the log.
    const during = await createProduct('During the reconnect');
    expect((await stream.next())!.data.product.id).toBe(during.body.id);
    await waitFor(() => t.app.live.reconnects >= 1, 'the listener to reconnect');
    const after = await createProduct('After the reconnect');
    expect((await stream.next())!.data.product.id).toBe(after.body.id);
    stream.close();
  });

  it('beyond SSE_MAX_CONNECTIONS answers 503 with Retry-After, on both doors', async () => {
    const streams = await Promise.all([1, 2, 3, 4, 5].map(() => changes()));
    expect(streams.every((s) => s.status === 200)).toBe(true);
    const refused = await t.rest('GET', '/products/changes', { headers: { accept: 'text/event-stream' } });
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.body.code).toBe('SERVICE_UNAVAILABLE');
    const trpc = await fetch(`${t.url}/trpc/products.changes`, { headers: { accept: 'text/event-stream' } });
    expect(trpc.status).toBe(503);
    expect(trpc.headers.get('retry-after')).toBeTruthy();
    await trpc.text();
    // The typed client takes the 503 as a reason to reconnect (after its Retry-After), not to give up.
    const states: { state: string; code?: string }[] = [];
    let started = false;
    const sub = t.client().products.changes.subscribe(
      {},
      {
        onConnectionStateChange: (s) => states.push({ state: s.state, ...(s.error ? { code: (s.error as any).data?.code } : {}) }),
        onStarted: () => (started = true),
        onError: (error) => states.push({ state: 'error', code: String(error.data?.code) }),
      },
    );
    await waitFor(() => states.some((s) => s.code === 'SERVICE_UNAVAILABLE'), 'the refusal to reach the typed client');
    expect(states.find((s) => s.code === 'SERVICE_UNAVAILABLE')!.state).toBe('connecting');
    for (const s of streams) s.close();
    await waitFor(() => started, 'the typed client to get in after Retry-After', 15_000);
    expect(states.map((s) => s.state)).not.toContain('error');
    sub.unsubscribe();
    await waitFor(async () => {
      const again = await changes();
      again.close();
      return again.status === 200;
    }, 'a place to free up');
  });
});

describe('access before the stream opens', () => {
  it('reports.watch: anonymous 401, another user\'s report 404, on both doors', async () => {
    const { user: owner } = await signedInUser(t);
    const { token: other } = await signedInUser(t);
    const report = await makeReport(t.app.db, owner.id);
    const anonymous = await t.rest('GET', `/reports/${report.id}/events`);
    expect(anonymous.status).toBe(401);
    const notYours = await t.rest('GET', `/reports/${report.id}/events`, { headers: bearer(other) });
    expect(notYours.status).toBe(404);
    const missing = await t.rest('GET', `/reports/00000000-0000-4000-8000-000000000000/events`, { headers: bearer(other) });
    expect(missing.status).toBe(404);
    expect(notYours.body.code).toBe(missing.body.code);

    const errorOf = (token?: string) =>
      new Promise<any>((resolve) => {
        const sub = t.client(token).reports.watch.subscribe(
          { id: report.id },
          {
            onError: (error) => {
              sub.unsubscribe();
              resolve(error);
            },
          },
        );
      });
    expect((await errorOf()).data).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401 });
    expect((await errorOf(other)).data).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404 });
  });

  it('users.notifications needs a session', async () => {
    expect((await t.rest('GET', '/users/me/notifications')).status).toBe(401);
  });

  /** A subscription call on /trpc as httpSubscriptionLink's EventSource sends it; the answer's status, content type and body. */
  const trpcGet = async (path: string, input?: unknown, headers: Record<string, string> = {}) => {
    const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
    const controller = new AbortController();
    const res = await fetch(`${t.url}/trpc/${path}${query}`, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
    const type = res.headers.get('content-type') ?? '';
    const body = type.startsWith('application/json') ? await res.json() : undefined;
    controller.abort();
    return { status: res.status, type, body: body as any, headers: res.headers };
  };

  it('on /trpc an error before the stream opens is its status with the body a query error has', async () => {
    const anonymous = await trpcGet('users.notifications');
    expect(anonymous.status).toBe(401);
    expect(anonymous.type).toMatch(/^application\/json/);
    // The same envelope a refused query gets (users.me, the same access builder).
    const query = await fetch(`${t.url}/trpc/users.me`);
    const queryBody = (await query.json()) as any;
    expect(query.status).toBe(401);
    expect(anonymous.body).toEqual({ error: { json: { ...queryBody.error.json, data: { ...queryBody.error.json.data, path: 'users.notifications' } } } });
    expect(anonymous.body.error.json.data).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401 });

    const { user: owner } = await signedInUser(t);
    const { token: other } = await signedInUser(t);
    const report = await makeReport(t.app.db, owner.id);
    const notYours = await trpcGet('reports.watch', { id: report.id }, bearer(other));
    const missing = await trpcGet('reports.watch', { id: '00000000-0000-4000-8000-000000000000' }, bearer(other));
    expect([notYours.status, missing.status]).toEqual([404, 404]);
    expect(notYours.body.error.json.data.code).toBe('NOT_FOUND');
    expect(notYours.body.error.json.data).toEqual({ ...missing.body.error.json.data });

    const badInput = await trpcGet('reports.watch', { id: 'not-an-id' }, bearer(other));
    expect(badInput.status).toBe(400);
    expect(badInput.body.error.json.data.code).toBe('BAD_REQUEST');
    expect(badInput.body.error.json.data.issues.map((i: { path: unknown }) => i.path)).toContainEqual(['id']);
    const badEventId = await trpcGet('products.changes', {}, { 'last-event-id': 'abc' });
    expect(badEventId.status).toBe(400);
    expect(badEventId.body.error.json.data.issues.map((i: { path: unknown }) => i.path)).toContainEqual(['lastEventId']);
    const notJson = await fetch(`${t.url}/trpc/products.changes?input=%7Bnope`, { headers: { accept: 'text/event-stream' } });
    expect(notJson.status).toBe(400);
    await notJson.text();
    const post = await fetch(`${t.url}/trpc/products.changes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    await post.text();
  });

  it('the typed client gets those errors in onError, with their code', async () => {
    const { token } = await signedInUser(t);
    const errorOf = (subscribe: (handlers: { onError: (error: unknown) => void; onData: () => void }) => { unsubscribe(): void }) =>
      new Promise<any>((resolve, reject) => {
        const sub = subscribe({
          onError: (error) => {
            sub.unsubscribe();
            resolve(error);
          },
          onData: () => reject(new Error('an event instead of the error')),
        });
      });
    const anonymous = await errorOf((h) => t.client().users.notifications.subscribe({}, h));
    expect(anonymous).toBeInstanceOf(TRPCClientError);
    expect(anonymous.data).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401 });
    const bad = await errorOf((h) => t.client(token).reports.watch.subscribe({ id: 'not-an-id' }, h));
    expect(bad.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
    expect(bad.data.issues.map((i: { path: unknown }) => i.path)).toContainEqual(['id']);
  });
});

describe('products.changes over tRPC (httpSubscriptionLink)', () => {
  it("is tRPC's own event stream, with the heartbeat as its ping event", async () => {
    const controller = new AbortController();
    const input = encodeURIComponent(JSON.stringify({ json: {} }));
    const res = await fetch(`${t.url}/trpc/products.changes?input=${input}`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('event: ping')) text += (await reader.read()).value ?? '';
    controller.abort();
    // SSE_HEARTBEAT_MS is 300 here: the client is told to reconnect after three missed.
    expect(text).toMatch(/^event: connected\ndata: \{"reconnectAfterInactivityMs":900\}\n/);
  });

  it('delivers typed tracked events', async () => {
    const received: { id: string; type: string; productId?: string }[] = [];
    const started = new Promise<void>((resolve) => {
      const sub = t.client().products.changes.subscribe(
        {},
        {
          onStarted: () => resolve(),
          onData: (event) => {
            received.push({ id: event.id, type: event.data.type, ...(event.data.type === 'refetch' ? {} : { productId: event.data.product.id }) });
            if (received.length === 1) sub.unsubscribe();
          },
        },
      );
    });
    await started;
    // The subscription is set up on the server a moment after the stream opens.
    await new Promise((r) => setTimeout(r, 200));
    const created = await makeProduct(t.app.db, { name: 'Via tRPC' });
    void created;
    const product = await createProduct('Via tRPC stream');
    await waitFor(() => received.length === 1, 'the tRPC event');
    expect(received[0]).toMatchObject({ type: 'product.created', productId: product.body.id });
  });
});
