import { subscriber } from '../../events/bus.ts';
import type { RateLimit, RateLimiter } from '../../lib/rate-limiter.ts';
import type { AccountTokenService } from '../auth/account-token.service.ts';
import { userEvents } from '../users/user.events.ts';
import type { UserService } from '../users/user.service.ts';
import { renderSignUpAttemptEmail, renderWelcomeEmail } from './account.emails.ts';
import type { Mailer } from './mailer.ts';

/**
 * At most one "someone tried to sign up with your address" mail per account an hour: sign-ups
 * from many addresses must not flood the owner's inbox. Counted by the worker, so the
 * sign-up's answer is the same either way.
 */
export const SIGN_UP_NOTICE_LIMIT: RateLimit = { name: 'sign-up-notice:account', limit: 1, windowMs: 60 * 60 * 1000 };

/**
 * What notifications listens to. The users module publishes `user.created` without
 * knowing this exists; the module list introduces the two.
 */
export const notificationSubscribers = ({ mailer, users, accountTokens, limiter }: { mailer: Mailer; users: UserService; accountTokens: AccountTokenService; limiter: RateLimiter }) => [
  subscriber(userEvents, 'user.created', 'notifications.welcome-email', async (event) => {
    // The account as it is now; gone or deactivated since: the welcome as the event says, without a code.
    const account = await users.findContact(event.payload.userId);
    const user = account ?? { email: event.payload.email, name: event.payload.name, emailVerified: false };
    // The code is made here, by the worker, just before the mail: it is never stored in
    // plain text anywhere, not even in the event. A repeated delivery makes a new code
    // (the old one stops working) and rewrites the same file.
    const verification = account && !account.emailVerified ? await accountTokens.issue(account.id, 'verify-email') : undefined;
    const { subject, text, html } = renderWelcomeEmail(user, verification);
    // Keyed by the event id: a delivery repeated after a crash between sending and
    // committing rewrites the same file (or reuses the same Message-ID over SMTP).
    await mailer.send({ to: user.email, subject, text, html, key: `welcome-${event.id}` });
  }),

  subscriber(userEvents, 'user.sign_up_attempted', 'notifications.sign-up-attempt-email', async (event) => {
    const user = await users.findContact(event.payload.userId);
    if (!user) return;
    if (!(await limiter.hit(SIGN_UP_NOTICE_LIMIT, user.id)).allowed) return;
    const { subject, text, html } = renderSignUpAttemptEmail(user);
    await mailer.send({ to: user.email, subject, text, html, key: `sign-up-attempt-${event.id}` });
  }),
];
