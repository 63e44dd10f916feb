import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAD_CODE, PASSWORD_RESET_ANSWER, SIGN_UP_ANSWER } from '../../server/modules/auth/auth.service.ts';
import { bearer, signIn } from '../helpers/auth.ts';
import { DEFAULT_PASSWORD, makeUser } from '../helpers/factories.ts';
import { waitFor, waitForIdleQueue } from '../helpers/jobs.ts';
import { mailFiles, parseMail, type ParsedMail } from '../helpers/mail.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The account lifecycle end to end: real HTTP, the real worker, and the codes read
 * back from the .eml files the mailer writes. Every test speaks from its own client IP
 * (TRUST_PROXY=1 and X-Forwarded-For), so the per-IP limits of one do not touch another.
 */
let t: TestApp;
let ipSeq = 0;
const newIp = () => `198.51.100.${++ipSeq}`;

beforeAll(async () => {
  t = await startTestApp({ TRUST_PROXY: '1', PASSWORD_RESET_LIMIT_PER_HOUR: '3', SIGN_UP_LIMIT_PER_HOUR: '100', SIGN_IN_LIMIT_PER_MINUTE: '100' });
  await t.app.startWorker();
});
afterAll(() => t.close());

const CODE = /^ {4}([a-z2-7]{32})$/m;

async function mailsTo(address: string): Promise<ParsedMail[]> {
  return [...(await mailFiles(t.dataDir)).values()].map(parseMail).filter((m) => m.headers.get('to') === address);
}

/** Waits for the `n`-th mail with this subject to `address`, and returns the code in it. */
async function codeFrom(address: string, subject: string, n = 1): Promise<string> {
  const mail = await waitFor(async () => (await mailsTo(address)).filter((m) => m.headers.get('subject') === subject)[n - 1], `mail ${n} "${subject}" to ${address}`);
  const code = CODE.exec(mail.parts.get('text/plain') ?? '')?.[1];
  expect(code, 'the code in the plain-text part').toBeDefined();
  expect(mail.parts.get('text/html')).toContain(`<code style="font-size: 1.2em">${code}</code>`);
  return code!;
}

const from = (ip: string, more: Record<string, string> = {}) => ({ 'x-forwarded-for': ip, ...more });

async function signInRest(email: string, password: string, headers: Record<string, string> = {}) {
  return t.rest('POST', '/auth/sign-in', { body: { email, password }, headers: from(newIp(), headers) });
}

describe('email verification', () => {
  it('sign-up mails a code; until it is used, a verified-email permission answers 403 EMAIL_NOT_VERIFIED on both doors', async () => {
    const email = 'verify-me@example.com';
    const ip = newIp();
    expect((await t.rest('POST', '/auth/sign-up', { body: { email, name: 'Verify Me', password: DEFAULT_PASSWORD }, headers: from(ip) })).status).toBe(202);
    const code = await codeFrom(email, 'Welcome to Duality');

    const signedIn = await signInRest(email, DEFAULT_PASSWORD);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.emailVerified).toBe(false);
    const token = signedIn.body.token as string;

    const refused = await t.rest('POST', '/reports', { body: { kind: 'product-catalog' }, headers: bearer(token) });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('EMAIL_NOT_VERIFIED');
    expect(refused.body.message).toMatch(/verify your email address/i);
    await expect(t.client(token).reports.generate.mutate({ kind: 'product-catalog' })).rejects.toMatchObject({ data: { code: 'EMAIL_NOT_VERIFIED', httpStatus: 403 } });
    expect(await t.app.db('reports').count({ n: '*' }).first()).toEqual({ n: '0' });

    // Everything else a signed-in member may do still works.
    expect((await t.rest('GET', '/users/me', { headers: bearer(token) })).status).toBe(200);

    expect((await t.rest('POST', '/auth/verify-email', { body: { token: code } })).status).toBe(204);
    const me = await t.rest('GET', '/users/me', { headers: bearer(token) });
    expect(me.body.emailVerified).toBe(true);
    // Takes effect on the same session, at once.
    expect((await t.rest('POST', '/reports', { body: { kind: 'product-catalog' }, headers: bearer(token) })).status).toBe(202);

    // Single use.
    const again = await t.rest('POST', '/auth/verify-email', { body: { token: code } });
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ code: 'BAD_REQUEST', message: BAD_CODE, issues: [{ path: ['token'], code: 'invalid_token' }] });
  });

  it('the code is stored only as its SHA-256, and an expired, malformed or unknown code is the same 400', async () => {
    const user = await makeUser(t.app.db, { emailVerified: false });
    const { token } = await t.app.services.accountTokens.issue(user.id, 'verify-email');
    const rows = await t.app.db('account_tokens').where({ userId: user.id });
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0].tokenHash).toString('hex')).toBe((await import('node:crypto')).createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(await t.app.db('account_tokens').select('*'))).not.toContain(token);

    await t.app.db('account_tokens').where({ userId: user.id }).update({ expiresAt: new Date(Date.now() - 1000) });
    for (const bad of [token, 'not a code', 'a'.repeat(32)]) {
      const res = await t.rest('POST', '/auth/verify-email', { body: { token: bad } });
      expect(res.status, bad).toBe(400);
      expect(res.body.message).toBe(BAD_CODE);
    }
    await expect(t.client().auth.verifyEmail.mutate({ token })).rejects.toMatchObject({ data: { code: 'BAD_REQUEST', httpStatus: 400 } });
    expect((await t.app.db('users').where({ id: user.id }).first()).emailVerifiedAt).toBeNull();
  });

  it('a reset code does not verify (codes have one purpose), and resend mails a new code that replaces the old one', async () => {
    const user = await makeUser(t.app.db, { emailVerified: false });
    const reset = await t.app.services.accountTokens.issue(user.id, 'reset-password');
    expect((await t.rest('POST', '/auth/verify-email', { body: { token: reset.token } })).status).toBe(400);

    const first = await t.app.services.accountTokens.issue(user.id, 'verify-email');
    const token = await signIn(t, user);
    expect((await t.rest('POST', '/auth/resend-verification', { headers: bearer(token) })).status).toBe(202);
    const code = await codeFrom(user.email, 'Confirm your email address');
    expect(code).not.toBe(first.token);
    expect((await t.rest('POST', '/auth/verify-email', { body: { token: first.token } })).status).toBe(400);
    expect((await t.rest('POST', '/auth/verify-email', { body: { token: code } })).status).toBe(204);
    // Nothing left to verify.
    expect((await t.rest('POST', '/auth/resend-verification', { headers: bearer(token) })).status).toBe(409);
  });

  it('resend is limited per account (PASSWORD_RESET_LIMIT_PER_HOUR), 429 with Retry-After on both doors', async () => {
    const user = await makeUser(t.app.db, { emailVerified: false });
    const token = await signIn(t, user);
    for (let i = 0; i < 3; i++) expect((await t.rest('POST', '/auth/resend-verification', { headers: from(newIp(), bearer(token)) })).status).toBe(202);
    const res = await t.rest('POST', '/auth/resend-verification', { headers: from(newIp(), bearer(token)) });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    await expect(t.client(token).auth.resendVerification.mutate()).rejects.toMatchObject({ data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429 } });
  });
});

describe('password reset by email', () => {
  it('mails a single-use code; using it sets the password, verifies the address and ends every session', async () => {
    const user = await makeUser(t.app.db, { emailVerified: false });
    const sessions = [await signIn(t, user), await signIn(t, user)];
    const ip = newIp();

    const asked = await t.rest('POST', '/auth/password-reset/request', { body: { email: ` ${user.email.toUpperCase()} ` }, headers: from(ip) });
    expect(asked.status).toBe(202);
    expect(asked.body).toEqual({ message: PASSWORD_RESET_ANSWER });
    const code = await codeFrom(user.email, 'Reset your Duality password');

    const done = await t.rest('POST', '/auth/password-reset', { body: { token: code, password: 'a brand new password' } });
    expect(done.status).toBe(204);
    for (const s of sessions) expect((await t.rest('GET', '/users/me', { headers: bearer(s) })).status).toBe(401);
    expect(await t.app.db('sessions').where({ userId: user.id })).toHaveLength(0);
    expect((await signInRest(user.email, DEFAULT_PASSWORD)).status).toBe(401);
    const signedIn = await signInRest(user.email, 'a brand new password');
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.emailVerified).toBe(true);

    const reused = await t.rest('POST', '/auth/password-reset', { body: { token: code, password: 'another new password' } });
    expect(reused.status).toBe(400);
    expect(reused.body.message).toBe(BAD_CODE);
    expect((await signInRest(user.email, 'a brand new password')).status).toBe(200);
  });

  it('an expired code is refused and changes nothing; the new password is validated like sign-up', async () => {
    const user = await makeUser(t.app.db);
    const { token } = await t.app.services.accountTokens.issue(user.id, 'reset-password');
    const short = await t.rest('POST', '/auth/password-reset', { body: { token, password: 'short' } });
    expect(short.status).toBe(400);
    expect(short.body.issues.map((i: { path: string[] }) => i.path.join('.'))).toEqual(['password']);

    await t.app.db('account_tokens').where({ userId: user.id }).update({ expiresAt: new Date(Date.now() - 1000) });
    const session = await signIn(t, user);
    expect((await t.rest('POST', '/auth/password-reset', { body: { token, password: 'a brand new password' } })).status).toBe(400);
    expect((await t.rest('GET', '/users/me', { headers: bearer(session) })).status).toBe(200);
    expect((await signInRest(user.email, DEFAULT_PASSWORD)).status).toBe(200);
  });

  it('an unknown address gets the same answer and no mail', async () => {
    const known = await makeUser(t.app.db);
    const ask = (email: string) => t.rest('POST', '/auth/password-reset/request', { body: { email }, headers: from(newIp()) });
    const [a, b] = [await ask(known.email), await ask('nobody-here@example.com')];
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body).toEqual(b.body);
    expect(a.headers.get('content-length')).toBe(b.headers.get('content-length'));
    await codeFrom(known.email, 'Reset your Duality password');
    await waitForIdleQueue(t.app.db);
    expect(await mailsTo('nobody-here@example.com')).toHaveLength(0);
    // A deactivated account gets no code either.
    const gone = await makeUser(t.app.db, { isActive: false });
    expect((await ask(gone.email)).status).toBe(202);
    await waitForIdleQueue(t.app.db);
    expect(await mailsTo(gone.email)).toHaveLength(0);
  });

  it('requests are limited per client IP and per address: the 4th is 429 with Retry-After on both doors', async () => {
    const ip = newIp();
    for (let i = 0; i < 3; i++) {
      expect((await t.rest('POST', '/auth/password-reset/request', { body: { email: `reset-ip-${i}@example.com` }, headers: from(ip) })).status).toBe(202);
    }
    const overIp = await t.rest('POST', '/auth/password-reset/request', { body: { email: 'reset-ip-x@example.com' }, headers: from(ip) });
    expect(overIp.status).toBe(429);
    expect(overIp.body.code).toBe('TOO_MANY_REQUESTS');
    expect(Number(overIp.headers.get('retry-after'))).toBeGreaterThan(60);

    // Per address, from many IPs: whether or not it has an account (the same for both).
    for (const email of ['nobody-limited@example.com', (await makeUser(t.app.db)).email]) {
      for (let i = 0; i < 3; i++) expect((await t.rest('POST', '/auth/password-reset/request', { body: { email }, headers: from(newIp()) })).status).toBe(202);
      const over = await t.rest('POST', '/auth/password-reset/request', { body: { email }, headers: from(newIp()) });
      expect(over.status, email).toBe(429);
      expect(over.headers.get('retry-after')).toMatch(/^\d+$/);
    }

    const raw = await fetch(`${t.url}/trpc/auth.requestPasswordReset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...from(ip) },
      body: JSON.stringify({ json: { email: 'reset-ip-y@example.com' } }),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('change password', () => {
  it('needs the current password (400 on currentPassword), then ends the other sessions and keeps this one', async () => {
    const user = await makeUser(t.app.db);
    const [mine, other] = [await signIn(t, user), await signIn(t, user)];

    const wrong = await t.rest('POST', '/auth/change-password', { body: { currentPassword: 'not it', newPassword: 'a brand new password' }, headers: bearer(mine) });
    expect(wrong.status).toBe(400);
    expect(wrong.body.issues).toEqual([{ path: ['currentPassword'], message: 'The current password is wrong', code: 'wrong_password' }]);
    expect((await t.rest('GET', '/users/me', { headers: bearer(other) })).status).toBe(200);

    await expect(t.client(mine).auth.changePassword.mutate({ currentPassword: DEFAULT_PASSWORD, newPassword: 'a brand new password' })).resolves.toBeUndefined();
    expect((await t.rest('GET', '/users/me', { headers: bearer(mine) })).status).toBe(200);
    expect((await t.rest('GET', '/users/me', { headers: bearer(other) })).status).toBe(401);
    expect((await signInRest(user.email, DEFAULT_PASSWORD)).status).toBe(401);
    expect((await signInRest(user.email, 'a brand new password')).status).toBe(200);
  });

  it('changing the password makes an outstanding reset code useless', async () => {
    const user = await makeUser(t.app.db);
    const { token: code } = await t.app.services.accountTokens.issue(user.id, 'reset-password');
    const session = await signIn(t, user);
    expect((await t.rest('POST', '/auth/change-password', { body: { currentPassword: DEFAULT_PASSWORD, newPassword: 'a brand new password' }, headers: bearer(session) })).status).toBe(204);
    expect((await t.rest('POST', '/auth/password-reset', { body: { token: code, password: 'the attacker password' } })).status).toBe(400);
  });
});

describe('users.sessions', () => {
  it('lists my live sessions with where and when they started, marks the current one, and shows nobody else’s', async () => {
    const user = await makeUser(t.app.db);
    const a = await signInRest(user.email, DEFAULT_PASSWORD, { 'user-agent': 'Browser A/1.0', 'x-forwarded-for': '203.0.113.10' });
    const b = await signInRest(user.email, DEFAULT_PASSWORD, { 'user-agent': 'Phone B/2.0', 'x-forwarded-for': '203.0.113.20' });
    await signIn(t, await makeUser(t.app.db));

    const res = await t.rest('GET', '/users/me/sessions', { headers: bearer(a.body.token) });
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(2);
    const byAgent = new Map(res.body.items.map((s: { userAgent: string }) => [s.userAgent, s]));
    expect(byAgent.get('Browser A/1.0')).toMatchObject({ ip: '203.0.113.10', current: true, id: a.body.token.split('.')[0] });
    expect(byAgent.get('Phone B/2.0')).toMatchObject({ ip: '203.0.113.20', current: false, id: b.body.token.split('.')[0] });
    for (const s of res.body.items) {
      expect(Object.keys(s).sort()).toEqual(['createdAt', 'current', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'userAgent']);
      expect(JSON.stringify(s)).not.toContain(a.body.token.split('.')[1]);
    }
    const typed = await t.client(b.body.token).users.sessions.query();
    expect(typed.items.find((s) => s.current)!.id).toBe(b.body.token.split('.')[0]);
  });

  it('revokes one session (its token stops at once); another user’s session id is a 404', async () => {
    const user = await makeUser(t.app.db);
    const [mine, other] = [await signIn(t, user), await signIn(t, user)];
    const stranger = await signIn(t, await makeUser(t.app.db));

    expect((await t.rest('DELETE', `/users/me/sessions/${stranger.split('.')[0]}`, { headers: bearer(mine) })).status).toBe(404);
    expect((await t.rest('GET', '/users/me', { headers: bearer(stranger) })).status).toBe(200);

    expect((await t.rest('DELETE', `/users/me/sessions/${other.split('.')[0]}`, { headers: bearer(mine) })).status).toBe(204);
    expect((await t.rest('GET', '/users/me', { headers: bearer(other) })).status).toBe(401);
    expect((await t.rest('GET', '/users/me', { headers: bearer(mine) })).status).toBe(200);
  });

  it('revokes all the others and keeps the current one', async () => {
    const user = await makeUser(t.app.db);
    const [mine, ...others] = [await signIn(t, user), await signIn(t, user), await signIn(t, user)];
    const res = await t.rest('POST', '/users/me/sessions/revoke-others', { headers: bearer(mine) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 2 });
    for (const s of others) expect((await t.rest('GET', '/users/me', { headers: bearer(s) })).status).toBe(401);
    expect((await t.rest('GET', '/users/me', { headers: bearer(mine) })).status).toBe(200);
    expect(await t.client(mine).users.revokeOtherSessions.mutate()).toEqual({ revoked: 0 });
  });
});

describe('absolute session lifetime (SESSION_MAX_AGE_DAYS, default 90)', () => {
  const DAY = 24 * 60 * 60 * 1000;

  it('a session older than 90 days is refused and deleted, however recently it was extended', async () => {
    const user = await makeUser(t.app.db);
    const token = await signIn(t, user);
    const id = token.split('.')[0];
    await t.app.db('sessions')
      .where({ id })
      .update({ createdAt: new Date(Date.now() - 90 * DAY - 1000), expiresAt: new Date(Date.now() + 29 * DAY) });
    expect((await t.rest('GET', '/users/me', { headers: bearer(token) })).status).toBe(401);
    expect(await t.app.db('sessions').where({ id }).first()).toBeUndefined();
  });

  it('sliding extension stops at the absolute end', async () => {
    const user = await makeUser(t.app.db);
    const token = await signIn(t, user);
    const id = token.split('.')[0];
    const createdAt = new Date(Date.now() - 85 * DAY);
    await t.app.db('sessions').where({ id }).update({ createdAt, expiresAt: new Date(Date.now() + 2 * DAY) });
    expect((await t.rest('GET', '/users/me', { headers: bearer(token) })).status).toBe(200);
    const row = await t.app.db('sessions').where({ id }).first();
    expect(row.expiresAt.getTime()).toBe(createdAt.getTime() + 90 * DAY);
  });

  it('a shorter SESSION_MAX_AGE_DAYS caps a new session at once', async () => {
    const short = await startTestApp({ SESSION_MAX_AGE_DAYS: '7' });
    try {
      const user = await makeUser(short.app.db);
      const res = await short.rest('POST', '/auth/sign-in', { body: { email: user.email, password: DEFAULT_PASSWORD } });
      expect(res.status).toBe(200);
      const expiresIn = new Date(res.body.expiresAt).getTime() - Date.now();
      expect(expiresIn).toBeGreaterThan(7 * DAY - 60_000);
      expect(expiresIn).toBeLessThanOrEqual(7 * DAY);
    } finally {
      await short.close();
    }
  });
});

describe('sign-up says nothing about which addresses have accounts', () => {
  it('the same status, body and headers for a known and an unknown address, on both doors', async () => {
    const known = await makeUser(t.app.db);
    const body = (email: string) => ({ email, name: 'Someone', password: DEFAULT_PASSWORD });
    const a = await t.rest('POST', '/auth/sign-up', { body: body(known.email), headers: from(newIp()) });
    const b = await t.rest('POST', '/auth/sign-up', { body: body('brand-new@example.com'), headers: from(newIp()) });
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body).toEqual({ message: SIGN_UP_ANSWER });
    expect(b.body).toEqual(a.body);
    const names = (h: Headers) => [...h.keys()].sort();
    expect(names(a.headers)).toEqual(names(b.headers));
    expect(a.headers.get('content-length')).toBe(b.headers.get('content-length'));
    expect(await t.client().auth.signUp.mutate(body(known.email))).toEqual(await t.client().auth.signUp.mutate(body('another-new@example.com')));
  });
});
