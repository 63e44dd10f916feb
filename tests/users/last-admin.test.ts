import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { waitFor } from '../helpers/jobs.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/** No role change or deactivation may leave the app without an active user who can manage users. */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({}, { worker: true });
});
afterAll(() => t.close());

const setRoles = (token: string, id: string, roles: string[]) => t.rest('PUT', `/users/${id}/roles`, { headers: bearer(token), body: { roles } });

describe('the last administrator', () => {
  it('cannot remove their own admin role (409), on both doors; with a second admin they can', async () => {
    await t.app.db('users').update({ isActive: false }); // this test's admins are the only ones
    const { user: admin, token } = await signedInUser(t, { roles: ['admin'] });
    const res = await setRoles(token, admin.id, ['member']);
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ code: 'CONFLICT', message: 'This change would leave no active user who can manage users' });
    await expect(t.client(token).users.setRoles.mutate({ id: admin.id, roles: [] })).rejects.toMatchObject({ data: { httpStatus: 409 } });
    expect((await t.rest('GET', '/users/me', { headers: bearer(token) })).body.roles).toEqual(['admin']);

    const { user: second, token: secondToken } = await signedInUser(t, { roles: ['admin'] });
    expect((await setRoles(token, admin.id, ['member'])).status).toBe(200);
    // Now `second` is the last one: their deactivation (by anyone) and demotion are refused.
    expect((await setRoles(secondToken, second.id, ['member'])).status).toBe(409);
    expect((await setRoles(secondToken, admin.id, ['member', 'admin'])).status).toBe(200);
    expect((await t.rest('POST', `/users/${second.id}/deactivate`, { headers: bearer(token) })).status).toBe(200);
    const refused = await t.rest('POST', `/users/${admin.id}/deactivate`, { headers: bearer(secondToken) });
    expect(refused.status).toBe(401); // second's sessions ended with the deactivation
  });

  it('two admins demoting each other at once: one of them stays', async () => {
    await t.app.db('users').update({ isActive: false });
    const a = await signedInUser(t, { roles: ['admin'] });
    const b = await signedInUser(t, { roles: ['admin'] });
    const results = await Promise.all([setRoles(a.token, b.user.id, ['member']), setRoles(b.token, a.user.id, ['member'])]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
  });

  it('publishes user.roles_changed with the actor and before/after, and analytics records it', async () => {
    const { user: admin, token } = await signedInUser(t, { roles: ['admin'] });
    const { user: target } = await signedInUser(t);
    expect((await setRoles(token, target.id, ['member', 'admin'])).status).toBe(200);
    const row = await waitFor(
      async () => t.app.db('analytics_events').where({ name: 'user.roles_changed' }).whereRaw(`properties->>'targetUserId' = ?`, [target.id]).first(),
      'the roles change to be recorded',
    );
    expect(row.userId).toBe(admin.id);
    expect(row.properties).toEqual({ targetUserId: target.id, before: ['member'], after: ['admin', 'member'] });
  });
});
