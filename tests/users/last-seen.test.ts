import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { User } from '../../server/modules/users/user.model.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { waitFor } from '../helpers/jobs.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

/** `users.me` records the visit through `ctx.afterResponse` (best effort, after the answer). */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const lastSeen = async (id: string) => (await User.query(t.app.db).findById(id))!;

describe('users.me touches last_seen_at after responding', () => {
  for (const door of ['REST', 'tRPC'] as const) {
    it(`over ${door}`, async () => {
      const { user, token } = await signedInUser(t);
      const before = await lastSeen(user.id);
      expect(before.lastSeenAt).toBeNull();
      if (door === 'REST') expect((await t.rest('GET', '/users/me', { headers: bearer(token) })).status).toBe(200);
      else expect((await t.client(token).users.me.query()).id).toBe(user.id);
      const after = await waitFor(async () => {
        const row = await lastSeen(user.id);
        return row.lastSeenAt ? row : undefined;
      }, 'last_seen_at to be touched');
      expect(after.lastSeenAt!.getTime()).toBeGreaterThanOrEqual(before.createdAt.getTime());
      // A visit is not a change to the account.
      expect(after.updatedAt).toEqual(before.updatedAt);
    });
  }

  it('writes at most once a minute per user', async () => {
    const { user } = await signedInUser(t);
    await t.app.services.users.touchLastSeen(user.id);
    const first = (await lastSeen(user.id)).lastSeenAt;
    await t.app.services.users.touchLastSeen(user.id);
    expect((await lastSeen(user.id)).lastSeenAt).toEqual(first);
    await User.query(t.app.db).findById(user.id).patch({ lastSeenAt: new Date(Date.now() - 120_000) });
    await t.app.services.users.touchLastSeen(user.id);
    expect((await lastSeen(user.id)).lastSeenAt!.getTime()).toBeGreaterThan(first!.getTime());
  });
});
