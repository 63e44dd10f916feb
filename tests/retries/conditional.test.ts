import Fastify from 'fastify';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TRPCClientError } from '../../client/index.ts';
import { registerRestDoor } from '../../server/http/rest.ts';
import { registerTrpcDoor } from '../../server/http/trpc-door.ts';
import { AfterResponseRunner } from '../../server/jobs/after-response.ts';
import { IfVersion } from '../../server/lib/row-version.ts';
import { createContextFactory } from '../../server/trpc/context.ts';
import { router } from '../../server/trpc/init.ts';
import { publicProcedure } from '../../server/trpc/procedures.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeProduct } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
let admin: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = (await signedInUser(t, { roles: ['admin'] })).token;
});
afterAll(() => t.close());

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${t.url}/api/v1${path}`, { headers });

describe('ETag and If-None-Match on single-resource reads', () => {
  it('GET /products/{id}: a strong ETag from the version; If-None-Match with it is 304 with no body; a change moves it', async () => {
    const product = await makeProduct(t.app.db);
    const first = await get(`/products/${product.id}`);
    const body = (await first.json()) as { version: number };
    expect(first.headers.get('etag')).toBe(`"${body.version}"`);
    const etag = first.headers.get('etag')!;

    const same = await get(`/products/${product.id}`, { 'if-none-match': etag });
    expect(same.status).toBe(304);
    expect(await same.text()).toBe('');
    expect(same.headers.get('etag')).toBe(etag);
    for (const header of ['*', `"999", ${etag}`, `W/${etag}`]) expect((await get(`/products/${product.id}`, { 'if-none-match': header })).status, header).toBe(304);
    expect((await get(`/products/${product.id}`, { 'if-none-match': '"999"' })).status).toBe(200);
    expect((await get(`/products/${product.id}`, { 'if-none-match': 'garbage' })).status).toBe(200);

    await t.rest('PATCH', `/products/${product.id}`, { body: { price: '11.00' }, headers: bearer(admin) });
    const changed = await get(`/products/${product.id}`, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).toBe(`"${body.version + 1}"`);
  });

  it('GET /users/{id}, GET /users/me and GET /reports/{id} send ETags; role changes and job writes move them', async () => {
    const { user, token } = await signedInUser(t);
    const me = await get('/users/me', bearer(token));
    const meTag = me.headers.get('etag')!;
    expect(meTag).toMatch(/^"\d+"$/);
    expect((await get('/users/me', { ...bearer(token), 'if-none-match': meTag })).status).toBe(304);
    const byId = await get(`/users/${user.id}`, bearer(admin));
    expect(byId.headers.get('etag')).toBe(meTag);

    // Roles are part of the representation: replacing them moves the version.
    const roles = await t.rest('PUT', `/users/${user.id}/roles`, { body: { roles: ['member', 'admin'] }, headers: bearer(admin) });
    expect(roles.body.version).toBeGreaterThan(Number(JSON.parse(meTag)));
    expect((await get('/users/me', { ...bearer(token), 'if-none-match': meTag })).status).toBe(200);
    // A visit (last_seen_at) is not a change.
    const afterRoles = (await get('/users/me', bearer(token))).headers.get('etag')!;
    await t.app.db('users').where({ id: user.id }).update({ last_seen_at: t.app.db.fn.now() });
    expect((await get('/users/me', { ...bearer(token), 'if-none-match': afterRoles })).status).toBe(304);

    const report = await t.rest('POST', '/reports', { body: { kind: 'product-catalog' }, headers: bearer(token) });
    const read = await get(`/reports/${report.body.id}`, bearer(token));
    const reportTag = read.headers.get('etag')!;
    expect((await get(`/reports/${report.body.id}`, { ...bearer(token), 'if-none-match': reportTag })).status).toBe(304);
    // What the job does (progress, status) moves it too, whoever writes.
    await t.app.db('reports').where({ id: report.body.id }).update({ status: 'processing', progress: 10 });
    const moved = await get(`/reports/${report.body.id}`, { ...bearer(token), 'if-none-match': reportTag });
    expect(moved.status).toBe(200);
    expect(moved.headers.get('etag')).not.toBe(reportTag);
  });

  it('tRPC: users.me and products.get carry the ETag; a single GET honours If-None-Match; a batch gets neither', async () => {
    const product = await makeProduct(t.app.db);
    const input = encodeURIComponent(JSON.stringify(superjson.serialize({ id: product.id })));
    const one = await fetch(`${t.url}/trpc/products.get?input=${input}`);
    const etag = one.headers.get('etag')!;
    expect(etag).toBe('"1"');
    expect((await fetch(`${t.url}/trpc/products.get?input=${input}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const batchInput = encodeURIComponent(JSON.stringify({ 0: superjson.serialize({ id: product.id }), 1: superjson.serialize({ id: product.id }) }));
    const batch = await fetch(`${t.url}/trpc/products.get,products.get?batch=1&input=${batchInput}`, { headers: { 'if-none-match': etag } });
    expect(batch.status).toBe(200);
    expect(batch.headers.get('etag')).toBeNull();
  });
});

describe('If-Match on PATCH and DELETE', () => {
  it('two editors: the second, with the stale tag, gets 412 naming the current version; the row keeps the first edit', async () => {
    const product = await makeProduct(t.app.db, { name: 'Original' });
    const etag = (await get(`/products/${product.id}`)).headers.get('etag')!;

    const alice = await t.rest('PATCH', `/products/${product.id}`, { body: { name: 'Alice' }, headers: { ...bearer(admin), 'if-match': etag } });
    expect(alice.status).toBe(200);
    expect(alice.headers.get('etag')).toBe('"2"');
    const bob = await t.rest('PATCH', `/products/${product.id}`, { body: { name: 'Bob' }, headers: { ...bearer(admin), 'if-match': etag } });
    expect(bob.status).toBe(412);
    expect(bob.body).toEqual({ code: 'PRECONDITION_FAILED', message: expect.stringContaining('is at version 2') });
    expect(bob.headers.get('etag')).toBe('"2"');
    expect((await t.app.db('products').where({ id: product.id }).first()).name).toBe('Alice');

    // Bob reads again and reapplies.
    const retry = await t.rest('PATCH', `/products/${product.id}`, { body: { name: 'Bob' }, headers: { ...bearer(admin), 'if-match': '"2"' } });
    expect(retry.status).toBe(200);
  });

  it('accepts *, lists of tags (the highest strong one counts) and no header; weak or foreign tags never match; malformed is 400', async () => {
    const product = await makeProduct(t.app.db);
    const patch = (ifMatch: string | undefined, price: string) =>
      t.rest('PATCH', `/products/${product.id}`, { body: { price }, headers: { ...bearer(admin), ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }) } });
    expect((await patch('*', '2.00')).status).toBe(200); // → 2
    expect((await patch('"1", "2"', '3.00')).status).toBe(200); // → 3
    expect((await patch(undefined, '4.00')).status).toBe(200); // → 4
    expect((await patch('W/"4"', '5.00')).status).toBe(412);
    expect((await patch('"abc"', '5.00')).status).toBe(412);
    const malformed = await patch('4', '5.00');
    expect(malformed.status).toBe(400);
    expect(malformed.body.issues[0].path).toEqual(['If-Match']);
    // A body field cannot stand in for the header on REST.
    expect((await t.rest('PATCH', `/products/${product.id}`, { body: { price: '6.00', ifVersion: 1 }, headers: bearer(admin) })).status).toBe(200);
    expect((await t.app.db('products').where({ id: product.id }).first()).price).toBe('6.00');
  });

  it('DELETE with a stale If-Match is 412 and archives nothing; with the current one, 204', async () => {
    const product = await makeProduct(t.app.db);
    await t.rest('PATCH', `/products/${product.id}`, { body: { price: '2.00' }, headers: bearer(admin) });
    const stale = await t.rest('DELETE', `/products/${product.id}`, { headers: { ...bearer(admin), 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    expect((await t.app.db('products').where({ id: product.id }).first()).isActive).toBe(true);
    expect((await t.rest('DELETE', `/products/${product.id}`, { headers: { ...bearer(admin), 'if-match': '"2"' } })).status).toBe(204);
    // Gone is 404, whatever the tag.
    expect((await t.rest('DELETE', `/products/${product.id}`, { headers: { ...bearer(admin), 'if-match': '"3"' } })).status).toBe(404);
  });

  it('PATCH /users/me takes If-Match too', async () => {
    const { token } = await signedInUser(t);
    const etag = (await get('/users/me', bearer(token))).headers.get('etag')!;
    expect((await t.rest('PATCH', '/users/me', { body: { name: 'First' }, headers: { ...bearer(token), 'if-match': etag } })).status).toBe(200);
    const stale = await t.rest('PATCH', '/users/me', { body: { name: 'Second' }, headers: { ...bearer(token), 'if-match': etag } });
    expect(stale.status).toBe(412);
    expect((await t.rest('GET', '/users/me', { headers: bearer(token) })).body.name).toBe('First');
  });

  it('tRPC: ifVersion in the input, PRECONDITION_FAILED when stale, the output carries version', async () => {
    const api = t.client(admin);
    const product = await api.products.create.mutate({ name: 'Typed', price: '1.00' });
    expect(product.version).toBe(1);
    const updated = await api.products.update.mutate({ id: product.id, price: '2.00', ifVersion: 1 });
    expect(updated.version).toBe(2);
    const error = await api.products.update.mutate({ id: product.id, price: '3.00', ifVersion: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'PRECONDITION_FAILED', httpStatus: 412 });
    await expect(api.products.delete.mutate({ id: product.id, ifVersion: 1 })).rejects.toMatchObject({ data: { code: 'PRECONDITION_FAILED' } });
    await api.products.delete.mutate({ id: product.id, ifVersion: 2 });
  });
});

describe("ifMatch: 'required'", () => {
  it('refuses a write without If-Match or ifVersion with 428 on both doors', async () => {
    const testRouter = router({
      guarded: publicProcedure
        .meta({ openapi: { method: 'PATCH', path: '/guarded/{id}', tags: ['test'] }, ifMatch: 'required' })
        .input(z.object({ id: z.string(), ifVersion: IfVersion }))
        .output(z.object({ got: z.number().nullable() }))
        .mutation(({ input }) => ({ got: input.ifVersion ?? null })),
    });
    const fastify = Fastify();
    const createContext = createContextFactory({ authenticate: async () => ({ actor: null, rejection: null }), isProduction: false, afterResponse: new AfterResponseRunner(), pipeline: {} as never });
    await registerTrpcDoor(fastify, { router: testRouter, prefix: '/trpc', createContext, onError: () => {} });
    registerRestDoor(fastify, { router: testRouter, prefix: '/api', createContext, isProduction: false });
    const url = await fastify.listen({ port: 0, host: '127.0.0.1' });
    try {
      const rest = (headers: Record<string, string>) => fetch(`${url}/api/guarded/x`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
      const missing = await rest({});
      expect(missing.status).toBe(428);
      expect(await missing.json()).toEqual({ code: 'PRECONDITION_REQUIRED', message: expect.stringContaining('If-Match') });
      expect(await (await rest({ 'if-match': '"4"' })).json()).toEqual({ got: 4 });
      expect(await (await rest({ 'if-match': '*' })).json()).toEqual({ got: null });
      const trpc = (input: unknown) => fetch(`${url}/trpc/guarded`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(superjson.serialize(input)) });
      expect((await trpc({ id: 'x' })).status).toBe(428);
      expect((await trpc({ id: 'x', ifVersion: 3 })).status).toBe(200);
    } finally {
      await fastify.close();
    }
  });
});
