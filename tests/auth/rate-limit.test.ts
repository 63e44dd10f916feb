import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { waitFor } from '../helpers/jobs.ts';
import { DEFAULT_PASSWORD, makeUser } from '../helpers/factories.ts';
import { loggedLine, startRoleProcess, type RoleProcess } from '../helpers/processes.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

// The counters live in the app's database, so each test gets its own app (and database).
let t: TestApp;
const procs: RoleProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.child.kill('SIGTERM');
    await p.exit;
  }
  await t.close();
});

const signInAt = (base: string, email: string, password = 'wrong password', headers: Record<string, string> = {}) =>
  fetch(`${base}/api/v1/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ email, password }) });
const signIn = (email: string, password?: string, headers?: Record<string, string>) => signInAt(t.url, email, password, headers);

describe('sign-in limits: per (IP, account) 10, per IP 30, per account 100 a minute by default', () => {
  it('per (IP, account): the 11th attempt is 429 with Retry-After, even with the right password', async () => {
    t = await startTestApp();
    const user = await makeUser(t.app.db);
    for (let i = 0; i < 10; i++) expect((await signIn(user.email)).status).toBe(401);
    for (const email of [user.email, ` ${user.email.toUpperCase()} `]) {
      const res = await signIn(email, DEFAULT_PASSWORD);
      expect(res.status).toBe(429);
      expect(await res.json()).toEqual({ code: 'TOO_MANY_REQUESTS', message: 'Too many requests, try again later' });
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
  });

  it('per IP: attempts against different emails add up', async () => {
    t = await startTestApp({ SIGN_IN_IP_LIMIT_PER_MINUTE: '12' });
    for (let i = 0; i < 12; i++) expect((await signIn(`nobody${i}@example.com`)).status).toBe(401);
    const res = await signIn('someone-else@example.com');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('a stranger guessing from another IP does not lock the owner out', async () => {
    t = await startTestApp({ TRUST_PROXY: '1' });
    const owner = await makeUser(t.app.db);
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    for (let i = 0; i < 15; i++) expect([401, 429]).toContain((await signIn(owner.email, 'guess', from('203.0.113.66'))).status);
    expect((await signIn(owner.email, 'guess', from('203.0.113.66'))).status).toBe(429);
    expect((await signIn(owner.email, DEFAULT_PASSWORD, from('198.51.100.7'))).status).toBe(200);
  });

  it('per account from every IP: guesses spread over many IPs are stopped too', async () => {
    t = await startTestApp({ TRUST_PROXY: '1', SIGN_IN_ACCOUNT_LIMIT_PER_MINUTE: '5' });
    const user = await makeUser(t.app.db);
    for (let i = 0; i < 5; i++) expect((await signIn(user.email, 'guess', { 'x-forwarded-for': `203.0.113.${i}` })).status).toBe(401);
    expect((await signIn(user.email, 'guess', { 'x-forwarded-for': '203.0.113.99' })).status).toBe(429);
  });

  it('the tRPC door is limited too and also sends Retry-After', async () => {
    t = await startTestApp({ SIGN_IN_LIMIT_PER_MINUTE: '2' });
    const api = t.client();
    for (let i = 0; i < 2; i++) await expect(api.auth.signIn.mutate({ email: 'x@example.com', password: 'nope' })).rejects.toMatchObject({ data: { httpStatus: 401 } });
    await expect(api.auth.signIn.mutate({ email: 'x@example.com', password: 'nope' })).rejects.toMatchObject({ data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429 } });
    const raw = await fetch(`${t.url}/trpc/auth.signIn`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: { email: 'x@example.com', password: 'nope' } }) });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('RATE_LIMITS=off switches the limits off', async () => {
    t = await startTestApp({ RATE_LIMITS: 'off', SIGN_IN_LIMIT_PER_MINUTE: '1' });
    for (let i = 0; i < 4; i++) expect((await signIn('x@example.com')).status).toBe(401);
  });
});

describe('limits hold across processes', () => {
  it('a second server process on the same database counts against the same windows', { timeout: 180_000 }, async () => {
    t = await startTestApp({ SIGN_IN_LIMIT_PER_MINUTE: '4' });
    const other = startRoleProcess('serve', { DATABASE_URL: t.databaseUrl, DATA_DIR: t.dataDir, SIGN_IN_LIMIT_PER_MINUTE: '4' });
    procs.push(other);
    const listening = await waitFor(() => loggedLine(other, 'listening: API'), 'the serve process to listen', 150_000);
    const otherBase = String(listening.api).replace(/\/api\/v1$/, '');
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await signInAt(i % 2 ? otherBase : t.url, 'shared@example.com')).status);
    // Per process, each would have allowed 4 (8 in all); together they allow 4.
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
  });
});

describe('TRUST_PROXY', () => {
  it('true is refused with a reason; hop counts and address lists are accepted', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/would trust every hop, so any client could choose its own IP/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/Not a hop count, an IP address or a CIDR range: 10.0.0.0\/33/);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1' }).trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8', '::1']);
    expect(loadConfig({}).trustProxy).toBe(false);
  });

  const spoofed = (i: number, proxySaw = '203.0.113.5') => ({ 'x-forwarded-for': `10.66.${i}.1, ${proxySaw}` });

  it('off: a spoofed X-Forwarded-For does not give a new bucket', async () => {
    t = await startTestApp({ SIGN_IN_LIMIT_PER_MINUTE: '3' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await signIn('x@example.com', 'nope', { 'x-forwarded-for': `198.51.100.${i}` })).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  for (const setting of ['1', '127.0.0.1', '127.0.0.0/8']) {
    it(`${setting}: the address the trusted proxy saw is the client; what the client wrote before it changes nothing`, async () => {
      t = await startTestApp({ TRUST_PROXY: setting, SIGN_IN_LIMIT_PER_MINUTE: '3' });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await signIn('x@example.com', 'nope', spoofed(i))).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      // Clients behind the proxy do not share one bucket.
      expect((await signIn('x@example.com', 'nope', spoofed(0, '203.0.113.6'))).status).toBe(401);
    });
  }

  it('a list that does not include the peer: X-Forwarded-For from it is ignored', async () => {
    t = await startTestApp({ TRUST_PROXY: '10.1.2.3', SIGN_IN_LIMIT_PER_MINUTE: '2' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await signIn('x@example.com', 'nope', { 'x-forwarded-for': `198.51.100.${i}` })).status);
    expect(statuses).toEqual([401, 401, 429]);
  });
});
