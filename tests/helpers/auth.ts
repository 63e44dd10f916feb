import { SESSION_COOKIE } from '../../server/modules/auth/session.cookie.ts';
import { makeUser, type MadeUser } from './factories.ts';
import type { TestApp } from './test-app.ts';

/**
 * A bearer token for `user`, from a session made by the real SessionService
 * (the sign-in procedure itself is tested in tests/auth; going around it here
 * keeps other tests clear of its rate limit and its Argon2 cost).
 */
export async function signIn(t: TestApp, user: Pick<MadeUser, 'id'>): Promise<string> {
  const { token } = await t.app.services.sessions.create(user.id);
  return token;
}

/** A new user with these roles, and a token for them. */
export async function signedInUser(t: TestApp, opts: Parameters<typeof makeUser>[1] = {}): Promise<{ user: MadeUser; token: string }> {
  const user = await makeUser(t.app.db, opts);
  return { user, token: await signIn(t, user) };
}

/** Headers for a REST call with a bearer token. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Headers for a REST call carrying the session cookie (add an Origin for changes). */
export const cookie = (token: string) => ({ cookie: `${SESSION_COOKIE}=${token}` });
