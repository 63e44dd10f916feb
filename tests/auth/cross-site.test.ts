import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../client/index.ts';
import { bearer, cookie, signIn } from '../helpers/auth.ts';
import { DEFAULT_PASSWORD, makeProduct, makeUser } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
let ownOrigin: string;
beforeAll(async () => {
  t = await startTestApp();
  ownOrigin = new URL(t.url).origin;
});
afterAll(() => t.close());

const CROSS_SITE = { code: 'FORBIDDEN', message: 'Cross-site request refused: a cookie-authenticated change must come from this site' };

async function adminToken() {
  return signIn(t, await makeUser(t.app.db, { roles: ['admin'] }));
}

describe('cookie-authenticated changes must come from our own origin', () => {
  it('refuses a cross-site POST carrying the cookie (403) and changes nothing', async () => {
    const token = await adminToken();
    const attempts: Record<string, string>[] = [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site', origin: 'https://sub.evil.example' }, {}];
    for (const headers of attempts) {
      const res = await t.rest('POST', '/products', { body: { name: 'Forged', price: '1.00' }, headers: { ...cookie(token), ...headers } });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.body).toEqual(CROSS_SITE);
    }
    expect(await t.app.db('products').where({ name: 'Forged' })).toEqual([]);
  });

  it('refuses cross-site DELETE and PATCH and the tRPC door alike', async () => {
    const token = await adminToken();
    const product = await makeProduct(t.app.db);
    const evil = { ...cookie(token), origin: 'https://evil.example' };
    expect((await t.rest('DELETE', `/products/${product.id}`, { headers: evil })).status).toBe(403);
    expect((await t.rest('PATCH', `/products/${product.id}`, { body: { name: 'x' }, headers: evil })).status).toBe(403);
    const api = createClient({ url: t.url, headers: evil });
    await expect(api.products.delete.mutate({ id: product.id })).rejects.toMatchObject({ message: CROSS_SITE.message, data: { code: 'FORBIDDEN', httpStatus: 403 } });
    expect((await t.app.db('products').where({ id: product.id }).first()).isActive).toBe(true);
  });

  it('lets the same change through with our Origin or Sec-Fetch-Site: same-origin', async () => {
    const token = await adminToken();
    const viaOrigin = await t.rest('POST', '/products', { body: { name: 'Same origin', price: '1.00' }, headers: { ...cookie(token), origin: ownOrigin } });
    expect(viaOrigin.status).toBe(201);
    const viaFetchMetadata = await t.rest('POST', '/products', { body: { name: 'Fetch metadata', price: '1.00' }, headers: { ...cookie(token), 'sec-fetch-site': 'same-origin' } });
    expect(viaFetchMetadata.status).toBe(201);
    const api = createClient({ url: t.url, headers: { ...cookie(token), origin: ownOrigin } });
    await expect(api.products.create.mutate({ name: 'tRPC same origin', price: '2' })).resolves.toMatchObject({ price: '2.00' });
  });

  it('needs no origin proof for reads with the cookie, nor for changes with a bearer token', async () => {
    const token = await adminToken();
    expect((await t.rest('GET', '/users/me', { headers: { ...cookie(token), origin: 'https://evil.example' } })).status).toBe(200);
    const res = await t.rest('POST', '/products', { body: { name: 'Bearer', price: '1.00' }, headers: { ...bearer(token), origin: 'https://evil.example' } });
    expect(res.status).toBe(201);
  });

  it('a cookie set by sign-in over the tRPC door works for a same-origin change', async () => {
    const user = await makeUser(t.app.db);
    const res = await fetch(`${t.url}/trpc/auth.signIn`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ json: { email: user.email, password: DEFAULT_PASSWORD } }),
    });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^session=[a-z2-7]{24}\.[a-z2-7]{32}; .*HttpOnly/);
    const sessionCookie = setCookie.split(';')[0]!;
    const signOut = await t.rest('POST', '/auth/sign-out', { headers: { cookie: sessionCookie, origin: ownOrigin } });
    expect(signOut.status).toBe(204);
  });
});
