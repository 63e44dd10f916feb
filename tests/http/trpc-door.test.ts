import fastifyCookie from '@fastify/cookie';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { makeProduct } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Our tRPC door answers plain queries and mutations itself (server/http/trpc-door.ts).
 * Here the same requests go to it and to tRPC's official Fastify plugin on the same
 * router and services: status, content type and body must match exactly.
 */
let t: TestApp;
let official: FastifyInstance;
let officialUrl: string;
let asAdmin: Record<string, string>;
beforeAll(async () => {
  t = await startTestApp();
  asAdmin = bearer((await signedInUser(t, { roles: ['admin'] })).token);
  official = Fastify();
  await official.register(fastifyCookie);
  await official.register(fastifyTRPCPlugin, { prefix: '/trpc', trpcOptions: { router: t.app.router, createContext: t.app.createContext } });
  officialUrl = await official.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await official.close();
  await t.close();
});

const enc = (v: unknown) => encodeURIComponent(JSON.stringify(v));

async function both(path: string, init?: RequestInit) {
  const [ours, theirs] = await Promise.all([fetch(`${t.url}${path}`, init), fetch(`${officialUrl}${path}`, init)]);
  return {
    ours: { status: ours.status, type: ours.headers.get('content-type'), body: await ours.text() },
    theirs: { status: theirs.status, type: theirs.headers.get('content-type'), body: await theirs.text() },
  };
}

describe('the tRPC fast path answers exactly like the official adapter', () => {
  it('for queries, single and batched, found and not found', async () => {
    const p = await makeProduct(t.app.db, { name: 'Conformance' });
    const missing = '6f1c2d3e-0000-4000-8000-000000000000';
    const cases = [
      `/trpc/products.get?input=${enc({ json: { id: p.id } })}`,
      `/trpc/products.get?batch=1&input=${enc({ 0: { json: { id: p.id } } })}`,
      `/trpc/products.get,products.list?batch=1&input=${enc({ 0: { json: { id: p.id } }, 1: { json: { search: 'Conformance' } } })}`,
      `/trpc/products.get?input=${enc({ json: { id: missing } })}`,
      `/trpc/products.get,products.get?batch=1&input=${enc({ 0: { json: { id: p.id } }, 1: { json: { id: missing } } })}`,
      `/trpc/products.get?input=${enc({ json: { id: 'nope' } })}`,
      `/trpc/products.list`,
    ];
    for (const path of cases) {
      const r = await both(path);
      expect(r.ours, path).toEqual(r.theirs);
    }
  });

  it('for mutations and their errors', async () => {
    const p = await makeProduct(t.app.db);
    const post = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json', ...asAdmin }, body: JSON.stringify(body) });
    const update = (name: string) => both('/trpc/products.update?batch=1', post({ 0: { json: { id: p.id, name } } }));
    // The first call renames, the second finds it already renamed: compare each door on equal terms.
    const first = await update('Renamed');
    expect(first.ours.status).toBe(200);
    expect({ ...first.ours, body: first.ours.body.replace(/"updatedAt":"[^"]+"/, '') }).toEqual({
      ...first.theirs,
      body: first.theirs.body.replace(/"updatedAt":"[^"]+"/, ''),
    });
    for (const body of [{ 0: { json: { name: '', price: 'abc' } } }, { 0: { json: { name: 'x', price: '1.234' } } }]) {
      const r = await both('/trpc/products.create?batch=1', post(body));
      expect(r.ours).toEqual(r.theirs);
    }
    const wrongMethod = await both(`/trpc/products.create?input=${enc({ json: { name: 'x', price: '1.00' } })}`);
    expect(wrongMethod.ours).toEqual(wrongMethod.theirs);
    const badJson = await both('/trpc/products.create', { method: 'POST', headers: { 'content-type': 'application/json', ...asAdmin }, body: '{"json":' });
    const anonymous = await both('/trpc/products.create', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"json":{"name":"x","price":"1.00"}}' });
    expect(anonymous.ours.status).toBe(401);
    expect(anonymous.ours).toEqual(anonymous.theirs);
    expect(badJson.ours).toEqual(badJson.theirs);
    const unknown = await both(`/trpc/products.nothing?input=${enc({ json: {} })}`);
    expect(unknown.ours).toEqual(unknown.theirs);
  });

  it('for input superjson cannot read: a 400, not a 500', async () => {
    const p = await makeProduct(t.app.db);
    const malformed = [
      { json: { id: p.id }, meta: { values: { __proto__: ['Date'] } } },
      { json: { id: p.id }, meta: 5 },
      { json: { id: p.id }, meta: { values: { id: ['nonsense-type'] } } },
      { json: { id: p.id }, meta: { values: 'x' } },
    ];
    for (const input of malformed) {
      const raw = `{"json":{"id":"${p.id}"},"meta":${JSON.stringify(input.meta).replace('"values":{}', '"values":{"__proto__":["Date"]}')}}`;
      for (const path of [`/trpc/products.get?input=${encodeURIComponent(raw)}`, `/trpc/products.get?batch=1&input=${encodeURIComponent(`{"0":${raw}}`)}`]) {
        const r = await both(path);
        expect(r.ours.status, `${path}: ${r.ours.body}`).toBeLessThan(500);
        expect(r.ours, path).toEqual(r.theirs);
      }
    }
  });
});
