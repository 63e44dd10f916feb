import { PERMISSIONS } from '../../server/app.ts';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGN_UP_ANSWER } from '../../server/modules/auth/auth.service.ts';
import { SESSION_TTL_MS } from '../../server/modules/auth/session.service.ts';
import { bearer, cookie, signIn } from '../helpers/auth.ts';
import { DEFAULT_PASSWORD, makeUser } from '../helpers/factories.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let t: TestApp;
beforeAll(async () => {
  // Plenty of sign-ins from 127.0.0.1 here; the limit itself is tested in rate-limit.test.ts.
  t = await startTestApp({ SIGN_IN_LIMIT_PER_MINUTE: '1000', SIGN_UP_LIMIT_PER_HOUR: '1000' });
});
afterAll(() => t.close());

const DAY = 24 * 60 * 60 * 1000;
const UNAUTHORIZED = { code: 'UNAUTHORIZED', message: 'Sign in required' };

async function signInOverRest(email: string, password = DEFAULT_PASSWORD) {
  return t.rest('POST', '/auth/sign-in', { body: { email, password } });
}

describe('sign-up', () => {
  it('creates an unverified member and answers 202 with the one message, no user and no hash', async () => {
    const res = await t.rest('POST', '/auth/sign-up', { body: { email: '  Ada@Example.com ', name: ' Ada ', password: 'analytical engine' } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ message: SIGN_UP_ANSWER });
    const row = await t.app.db('users').where({ email: 'Ada@Example.com' }).first();
    expect(row).toMatchObject({ name: 'Ada', isActive: true, emailVerifiedAt: null });
    expect(row.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const roles = await t.app.services.roles.rolesOf([row.id]);
    expect(roles.get(row.id)).toEqual(['member']);
    // Usable at once: sign-in works before verification.
    expect((await signInOverRest('ada@example.com', 'analytical engine')).status).toBe(200);
  });

  it('answers a known email, whatever its case and spacing, exactly as a new one, and changes nothing', async () => {
    const grace = await makeUser(t.app.db, { email: 'grace@example.com', name: 'Grace' });
    const before = await t.app.db('users').where({ id: grace.id }).first();
    const known = await t.rest('POST', '/auth/sign-up', { body: { email: ' GRACE@example.COM', name: 'Grace', password: 'compilers!' } });
    const unknown = await t.rest('POST', '/auth/sign-up', { body: { email: 'hopper@example.com', name: 'Grace', password: 'compilers!' } });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(known.body).toEqual(unknown.body);
    expect([...known.headers.keys()].sort()).toEqual([...unknown.headers.keys()].sort());
    expect(known.headers.get('content-length')).toBe(unknown.headers.get('content-length'));
    expect(await t.app.db('users').where({ id: grace.id }).first()).toEqual(before);
    expect(await t.app.db('users').whereRaw('lower(email) = ?', ['grace@example.com'])).toHaveLength(1);
  });

  it('wants a password of 8 to 128 characters and a real email (400 with issues)', async () => {
    for (const [body, path] of [
      [{ email: 'short@example.com', name: 'S', password: '1234567' }, 'password'],
      [{ email: 'long@example.com', name: 'L', password: 'x'.repeat(129) }, 'password'],
      [{ email: 'not-an-email', name: 'N', password: '12345678' }, 'email'],
    ] as const) {
      const res = await t.rest('POST', '/auth/sign-up', { body });
      expect(res.status, path).toBe(400);
      expect(res.body.issues.map((i: { path: string[] }) => i.path.join('.'))).toEqual([path]);
    }
    const ok = await t.rest('POST', '/auth/sign-up', { body: { email: 'edge@example.com', name: 'E', password: 'x'.repeat(128) } });
    expect(ok.status).toBe(202);
  });

  it('works through the typed client', async () => {
    const answer = await t.client().auth.signUp.mutate({ email: 'typed@example.com', name: 'Typed', password: 'typed password' });
    expect(answer).toEqual({ message: SIGN_UP_ANSWER });
    expect(await t.app.db('users').where({ email: 'typed@example.com' }).first()).toBeDefined();
  });
});

describe('sign-in', () => {
  it('returns a token, its expiry and the user, and sets the session cookie', async () => {
    const user = await makeUser(t.app.db, { email: 'Linus@example.com' });
    const before = Date.now();
    const res = await signInOverRest(' linus@EXAMPLE.com ');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      token: expect.stringMatching(/^[a-z2-7]{24}\.[a-z2-7]{32}$/),
      expiresAt: expect.any(String),
      user: expect.objectContaining({ id: user.id, email: 'Linus@example.com', roles: ['member'] }),
    });
    const expiresAt = new Date(res.body.expiresAt).getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(before + 30 * DAY - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 30 * DAY);

    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(new RegExp(`^session=${res.body.token.replace('.', '\\.')};`));
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Lax');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).toContain(`Expires=${new Date(res.body.expiresAt).toUTCString()}`);
    expect(setCookie, 'no Secure in development over http').not.toContain('Secure');

    // Only the hash of the secret is stored; the id is the part before the dot.
    const [id, secret] = res.body.token.split('.');
    const row = await t.app.db('sessions').where({ id }).first();
    expect(row.userId).toBe(user.id);
    expect(Buffer.from(row.secretHash).equals(createHash('sha256').update(secret).digest())).toBe(true);
    expect(JSON.stringify(row)).not.toContain(secret);
  });

  it('marks the cookie Secure from NODE_ENV=production or an https PUBLIC_URL, never from the Host header', async () => {
    const signInWithHost = async (app: TestApp, host: string) => {
      const user = await makeUser(app.app.db);
      const res = await app.app.http.inject({
        method: 'POST',
        url: '/api/v1/auth/sign-in',
        headers: { host, 'content-type': 'application/json' },
        payload: JSON.stringify({ email: user.email, password: DEFAULT_PASSWORD }),
      });
      expect(res.statusCode).toBe(200);
      return String(res.headers['set-cookie']);
    };
    // The finding: a proxy forwarding Host: 127.0.0.1 made production cookies go out without Secure.
    const production = await startTestApp({ NODE_ENV: 'production' });
    const https = await startTestApp({ PUBLIC_URL: 'https://api.example.com' });
    try {
      expect(await signInWithHost(production, '127.0.0.1:3000')).toContain('Secure');
      expect(await signInWithHost(https, 'localhost:3000')).toContain('Secure');
      expect(await signInWithHost(t, 'api.example.com'), 'the Host header decides nothing').not.toContain('Secure');
    } finally {
      await Promise.all([production.close(), https.close()]);
    }
  });

  it('gives the same 401 for an unknown email, a wrong password and a deactivated account', async () => {
    const active = await makeUser(t.app.db);
    const inactive = await makeUser(t.app.db, { isActive: false });
    const responses = [
      await signInOverRest('nobody@example.com'),
      await signInOverRest(active.email, 'wrong password'),
      await signInOverRest(inactive.email),
    ];
    for (const res of responses) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ code: 'UNAUTHORIZED', message: 'Invalid email or password' });
      expect(res.headers.get('set-cookie')).toBeNull();
    }
  });

  it('works through the typed client and the token then works there', async () => {
    const user = await makeUser(t.app.db);
    const { token } = await t.client().auth.signIn.mutate({ email: user.email, password: DEFAULT_PASSWORD });
    const me = await t.client(token).users.me.query();
    expect(me).toMatchObject({ id: user.id, email: user.email, roles: ['member'], permissions: ['reports:request'] });
  });
});

describe('users.me', () => {
  it('returns the signed-in user by bearer token and by cookie', async () => {
    const user = await makeUser(t.app.db, { roles: ['admin'] });
    const token = await signIn(t, user);
    for (const headers of [bearer(token), cookie(token)]) {
      const res = await t.rest('GET', '/users/me', { headers });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: user.id, roles: ['admin'] });
      // admin holds the whole catalog (every module's permissions), sorted.
      expect(res.body.permissions).toEqual([...PERMISSIONS].sort());
    }
  });

  it('is 401 without a session, on both doors', async () => {
    const res = await t.rest('GET', '/users/me');
    expect(res.status).toBe(401);
    expect(res.body).toEqual(UNAUTHORIZED);
    await expect(t.client().users.me.query()).rejects.toMatchObject({ message: 'Sign in required', data: { code: 'UNAUTHORIZED', httpStatus: 401 } });
  });

  it('is 401 for a tampered, truncated or made-up token', async () => {
    const user = await makeUser(t.app.db);
    const token = await signIn(t, user);
    const [id, secret] = token.split('.') as [string, string];
    const flipped = secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a');
    for (const bad of [`${id}.${flipped}`, `${id}.`, id, `${id}.${secret}x`, `${'a'.repeat(24)}.${secret}`, 'not a token']) {
      const res = await t.rest('GET', '/users/me', { headers: bearer(bad) });
      expect(res.status, bad).toBe(401);
      expect(res.body).toEqual(UNAUTHORIZED);
    }
    // The real session was not harmed by the attempts.
    expect((await t.rest('GET', '/users/me', { headers: bearer(token) })).status).toBe(200);
  });
});

describe('sign-out', () => {
  it('ends the session server-side: the token then fails on both doors and as a cookie (204)', async () => {
    const user = await makeUser(t.app.db);
    const { body } = await signInOverRest(user.email);
    const token: string = body.token;

    const res = await t.rest('POST', '/auth/sign-out', { headers: bearer(token) });
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect(res.headers.get('set-cookie')).toMatch(/^session=;.*Expires=Thu, 01 Jan 1970/);
    expect(await t.app.db('sessions').where({ id: token.split('.')[0] }).first()).toBeUndefined();

    expect((await t.rest('GET', '/users/me', { headers: bearer(token) })).status).toBe(401);
    expect((await t.rest('GET', '/users/me', { headers: cookie(token) })).status).toBe(401);
    await expect(t.client(token).users.me.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    expect((await t.rest('POST', '/auth/sign-out', { headers: bearer(token) })).status).toBe(401);
  });

  it('works through the typed client', async () => {
    const user = await makeUser(t.app.db);
    const token = await signIn(t, user);
    await expect(t.client(token).auth.signOut.mutate()).resolves.toBeUndefined();
    await expect(t.client(token).users.me.query()).rejects.toMatchObject({ data: { httpStatus: 401 } });
  });

  it('ends only that session; the same user elsewhere stays signed in', async () => {
    const user = await makeUser(t.app.db);
    const [a, b] = [await signIn(t, user), await signIn(t, user)];
    expect((await t.rest('POST', '/auth/sign-out', { headers: bearer(a) })).status).toBe(204);
    expect((await t.rest('GET', '/users/me', { headers: bearer(b) })).status).toBe(200);
  });
});

describe('session lifetime', () => {
  it('an expired session is refused (401) and deleted', async () => {
    const user = await makeUser(t.app.db);
    const token = await signIn(t, user);
    const id = token.split('.')[0];
    await t.app.db('sessions').where({ id }).update({ expiresAt: new Date(Date.now() - 1000) });
    const res = await t.rest('GET', '/users/me', { headers: cookie(token) });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie'), 'the dead cookie is cleared').toMatch(/^session=;/);
    expect(await t.app.db('sessions').where({ id }).first()).toBeUndefined();
  });

  it('is extended to 30 days when used in its second half, and not before', async () => {
    const user = await makeUser(t.app.db);
    const token = await signIn(t, user);
    const id = token.split('.')[0];
    const expiry = async () => (await t.app.db('sessions').where({ id }).first()).expiresAt.getTime();

    const firstHalf = new Date(Date.now() + 20 * DAY);
    await t.app.db('sessions').where({ id }).update({ expiresAt: firstHalf });
    const early = await t.rest('GET', '/users/me', { headers: cookie(token) });
    expect(early.status).toBe(200);
    expect(early.headers.get('set-cookie')).toBeNull();
    expect(await expiry()).toBe(firstHalf.getTime());

    await t.app.db('sessions').where({ id }).update({ expiresAt: new Date(Date.now() + 10 * DAY) });
    const before = Date.now();
    const late = await t.rest('GET', '/users/me', { headers: cookie(token) });
    expect(late.status).toBe(200);
    const extended = await expiry();
    expect(extended).toBeGreaterThanOrEqual(before + SESSION_TTL_MS);
    expect(late.headers.get('set-cookie'), 'the cookie follows the new expiry').toContain(`Expires=${new Date(extended).toUTCString()}`);
  });

  it('sign-in sweeps away every expired session', async () => {
    const user = await makeUser(t.app.db);
    const stale = await signIn(t, await makeUser(t.app.db));
    await t.app.db('sessions').where({ id: stale.split('.')[0] }).update({ expiresAt: new Date(Date.now() - DAY) });
    expect((await signInOverRest(user.email)).status).toBe(200);
    expect(await t.app.db('sessions').where('expiresAt', '<=', new Date()).count({ n: '*' }).first()).toEqual({ n: '0' });
  });
});
