import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEventEnvelope } from '../../server/app.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { DEFAULT_PASSWORD } from '../helpers/factories.ts';
import { waitFor, waitForIdleQueue } from '../helpers/jobs.ts';
import { mailFiles, parseMail } from '../helpers/mail.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

const run = promisify(execFile);

let t: TestApp;
const deactivations: AppEventEnvelope<'user.deactivated'>[] = [];

beforeAll(async () => {
  t = await startTestApp();
  t.app.events.subscribe('user.deactivated', 'test.deactivations', async (event) => {
    deactivations.push(event);
  });
  await t.app.startWorker();
});
afterAll(() => t.close());

/** The mails written to `address`, parsed. */
async function mailsTo(address: string) {
  return [...(await mailFiles(t.dataDir)).values()].map(parseMail).filter((m) => m.headers.get('to') === address);
}

describe('sign-up → welcome email and analytics, without users knowing either', () => {
  it('POST /auth/sign-up: a welcome email with both parts and a verification code, no chosen text in the subject, and a user.signed_up row', async () => {
    const res = await t.rest('POST', '/auth/sign-up', { body: { email: 'ada@example.com', name: 'Claim your prize at https://spam.example', password: DEFAULT_PASSWORD } });
    expect(res.status).toBe(202);
    const { id } = await t.app.db('users').where({ email: 'ada@example.com' }).first();

    const [mail] = await waitFor(async () => {
      const mails = await mailsTo('ada@example.com');
      return mails.length ? mails : undefined;
    }, 'the welcome email');
    expect(mail!.headers.get('subject')).toBe('Welcome to Duality');
    // Nobody has verified the address yet: the mail greets the address, not the chosen name.
    expect(mail!.parts.get('text/plain')).toContain('Hello ada@example.com,');
    expect(mail!.parts.get('text/html')).toContain('<p>Hello ada@example.com,</p>');
    for (const part of mail!.parts.values()) expect(part).not.toContain('prize');
    expect(mail!.parts.get('text/plain')).toMatch(/^ {4}[a-z2-7]{32}$/m);

    const rows = await waitFor(async () => {
      const found = await t.app.db('analytics_events').where({ name: 'user.signed_up', userId: id });
      return found.length ? found : undefined;
    }, 'the analytics row');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ userId: id, properties: {}, eventId: expect.any(String) });
  });

  it('a sign-up with a known address answers the same, mails its owner a notice instead, and creates nothing', async () => {
    await t.client().auth.signUp.mutate({ email: 'grace@example.com', name: 'Grace', password: DEFAULT_PASSWORD });
    await waitFor(async () => (await mailsTo('grace@example.com')).length === 1, 'the first welcome email');
    const { id } = await t.app.db('users').where({ email: 'grace@example.com' }).first();

    const again = await t.rest('POST', '/auth/sign-up', { body: { email: 'GRACE@example.com', name: 'Grace again', password: DEFAULT_PASSWORD } });
    expect(again.status).toBe(202);
    await waitForIdleQueue(t.app.db);
    const mails = await mailsTo('grace@example.com');
    expect(mails.map((m) => m.headers.get('subject')).sort()).toEqual(['Someone tried to sign up with your address', 'Welcome to Duality']);
    const notice = mails.find((m) => m.headers.get('subject')!.startsWith('Someone'))!;
    expect(notice.parts.get('text/plain')).toContain('already has one');
    expect(notice.parts.get('text/plain')).not.toContain('Grace again');
    expect(await mailsTo('GRACE@example.com')).toHaveLength(0);
    expect(await t.app.db('analytics_events').where({ name: 'user.signed_up', userId: id })).toHaveLength(1);

    // More tries within the hour: the same answer, and no second notice to flood the inbox.
    expect((await t.rest('POST', '/auth/sign-up', { body: { email: 'grace@example.com', name: 'Grace', password: DEFAULT_PASSWORD } })).status).toBe(202);
    await waitForIdleQueue(t.app.db);
    expect(await mailsTo('grace@example.com')).toHaveLength(2);
    expect(await t.app.db('users').whereRaw('lower(email) = ?', ['grace@example.com'])).toHaveLength(1);
  });

  it('npm run user:create queues the same welcome email, delivered by the running worker', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'server/cli/user-create.ts', '--email', 'root@example.com', '--name', 'Root', '--password', DEFAULT_PASSWORD], {
      env: { ...process.env, DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'silent' },
    });
    expect(stdout).toContain('Created user root@example.com');
    const [mail] = await waitFor(async () => {
      const mails = await mailsTo('root@example.com');
      return mails.length ? mails : undefined;
    }, 'the welcome email for the CLI-made user');
    // The operator vouched for the address: greeted by name, and no code to enter.
    expect(mail!.parts.get('text/plain')).toContain('Hello Root,');
    expect(mail!.parts.get('text/plain')).not.toMatch(/^ {4}[a-z2-7]{32}$/m);
  });
});

describe('deactivation', () => {
  it('publishes user.deactivated with the admin as actor, once', async () => {
    const { user: admin, token } = await signedInUser(t, { roles: ['admin'] });
    const { user } = await signedInUser(t);
    expect((await t.rest('POST', `/users/${user.id}/deactivate`, { headers: bearer(token) })).status).toBe(200);
    // Deactivating an inactive account again changes nothing and says nothing.
    expect((await t.rest('POST', `/users/${user.id}/deactivate`, { headers: bearer(token) })).status).toBe(200);
    await waitFor(() => deactivations.some((e) => e.payload.userId === user.id), 'the user.deactivated event');
    await waitForIdleQueue(t.app.db);
    const mine = deactivations.filter((e) => e.payload.userId === user.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ name: 'user.deactivated', actor: { userId: admin.id }, payload: { userId: user.id } });
  });
});
