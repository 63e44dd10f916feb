import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient } from '../../client/index.ts';
import { bearer } from '../helpers/auth.ts';
import { DEFAULT_PASSWORD, makeUser } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Records every response the app sends during a tour of the auth and user
 * procedures on both doors (successes and errors), then searches them for any
 * password hash and any session secret hash the database held meanwhile.
 */
let t: TestApp;
const seen: string[] = [];
const realFetch = globalThis.fetch;

beforeAll(async () => {
  t = await startTestApp({ SIGN_IN_LIMIT_PER_MINUTE: '3' });
  globalThis.fetch = async (...args: Parameters<typeof fetch>) => {
    const res = await realFetch(...args);
    const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
    seen.push(`${headers}\n\n${await res.clone().text()}`);
    return res;
  };
});
afterAll(async () => {
  globalThis.fetch = realFetch;
  await t.close();
});

const sessionHashes = new Set<string>();
async function rememberSessionHashes() {
  for (const row of await t.app.db('sessions').select('secretHash')) {
    const hash = Buffer.from(row.secretHash);
    for (const encoding of ['hex', 'base64', 'base64url'] as const) sessionHashes.add(hash.toString(encoding));
  }
}

it('no response ever contains a password hash or a session hash', async () => {
  const admin = await makeUser(t.app.db, { roles: ['admin'] });
  const api = t.client();

  expect((await t.rest('POST', '/auth/sign-up', { body: { email: 'tour@example.com', name: 'Tour', password: DEFAULT_PASSWORD } })).status).toBe(202);
  expect((await t.rest('POST', '/auth/sign-up', { body: { email: 'TOUR@example.com', name: 'Again', password: DEFAULT_PASSWORD } })).status).toBe(202);
  const signedUp = { body: await t.app.db('users').where({ email: 'tour@example.com' }).first('id') };
  await api.auth.signUp.mutate({ email: 'tour2@example.com', name: 'Tour 2', password: DEFAULT_PASSWORD });

  const { body: signedIn } = await t.rest('POST', '/auth/sign-in', { body: { email: 'tour@example.com', password: DEFAULT_PASSWORD } });
  const { token: adminToken } = await api.auth.signIn.mutate({ email: admin.email, password: DEFAULT_PASSWORD });
  const wrong = { body: { email: 'tour@example.com', password: 'wrong password' } };
  // The limit is 3 here; tour's own sign-in above cleared its (IP, account) window.
  for (let i = 0; i < 3; i++) expect((await t.rest('POST', '/auth/sign-in', wrong)).status).toBe(401);
  expect((await t.rest('POST', '/auth/sign-in', wrong)).status).toBe(429);
  await rememberSessionHashes();

  const asAdmin = createClient({ url: t.url, token: adminToken });
  await t.rest('GET', '/users/me', { headers: bearer(signedIn.token) });
  await asAdmin.users.me.query();
  await t.rest('GET', '/users', { headers: bearer(adminToken) });
  await asAdmin.users.list.query({ size: 100 });
  expect((await t.rest('GET', '/users', { headers: bearer(signedIn.token) })).status).toBe(403);
  await t.rest('PUT', `/users/${signedUp.body.id}/roles`, { body: { roles: ['member', 'admin'] }, headers: bearer(adminToken) });
  await asAdmin.users.setRoles.mutate({ id: signedUp.body.id, roles: ['member'] });
  await t.rest('POST', `/users/${signedUp.body.id}/deactivate`, { headers: bearer(adminToken) });
  expect((await t.rest('GET', '/users/me', { headers: bearer(signedIn.token) })).status).toBe(401);
  expect((await t.rest('POST', '/auth/sign-out', { headers: bearer(adminToken) })).status).toBe(204);
  expect((await fetch(`${t.url}/openapi.json`)).status).toBe(200);

  const passwordHashes = (await t.app.db('users').select('passwordHash')).map((r: { passwordHash: string }) => r.passwordHash);
  expect(passwordHashes.length).toBeGreaterThanOrEqual(3);
  expect(sessionHashes.size).toBeGreaterThanOrEqual(3 * 2);
  expect(seen.length).toBeGreaterThanOrEqual(15);

  const everything = seen.join('\n=====\n');
  expect(everything).toContain(signedIn.token); // the recording works: the token itself is expected
  for (const hash of passwordHashes) {
    expect(everything).not.toContain(hash);
    expect(everything).not.toContain(hash.split('$').pop()!);
  }
  for (const hash of sessionHashes) expect(everything).not.toContain(hash);
  expect(everything).not.toContain('$argon2');
  expect(everything).not.toMatch(/passwordHash|password_hash|secretHash|secret_hash/);
});
