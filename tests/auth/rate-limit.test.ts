import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PASSWORD, makeUser } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

// The limiter lives in the app's process, so each test gets its own app.
let t: TestApp;
afterEach(() => t.close());

const signInOverRest = (email: string, password = 'wrong password') => t.rest('POST', '/auth/sign-in', { body: { email, password } });

describe('sign-in rate limit (10 a minute by default)', () => {
  it('per email: the 11th attempt is 429 with Retry-After, even with the right password', async () => {
    t = await startTestApp();
    const user = await makeUser(t.app.db);
    for (let i = 0; i < 10; i++) expect((await signInOverRest(user.email)).status).toBe(401);
    for (const email of [user.email, ` ${user.email.toUpperCase()} `]) {
      const res = await signInOverRest(email, DEFAULT_PASSWORD);
      expect(res.status).toBe(429);
      expect(res.body).toEqual({ code: 'TOO_MANY_REQUESTS', message: 'Too many requests, try again later' });
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
  });

  it('per IP: attempts against different emails add up', async () => {
    t = await startTestApp();
    for (let i = 0; i < 10; i++) expect((await signInOverRest(`nobody${i}@example.com`)).status).toBe(401);
    const res = await signInOverRest('someone-else@example.com');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
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
});
