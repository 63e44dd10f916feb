import { z } from 'zod';
import { defineJob } from '../../jobs/task.ts';
import { renderPasswordResetEmail, renderVerificationEmail } from '../notifications/account.emails.ts';
import type { Mailer } from '../notifications/mailer.ts';
import type { UserService } from '../users/user.service.ts';
import type { AccountTokenService } from './account-token.service.ts';

/**
 * Mails a new verification code (auth.resendVerification). The payload is the user id
 * only: the code is made when the job runs, so it is never stored in plain text.
 */
export const sendVerificationEmail = defineJob({
  name: 'auth.verification-email',
  payload: z.object({ userId: z.uuid() }),
  maxAttempts: 5,
});

/**
 * Mails a password-reset code. `userId` is null when the address has no (active)
 * account: the request queues a job either way, so both cases cost it the same.
 */
export const sendPasswordResetEmail = defineJob({
  name: 'auth.password-reset-email',
  payload: z.object({ userId: z.uuid().nullable() }),
  maxAttempts: 5,
});

/** The auth module's tasks: the mails that carry a single-use code. */
export const authTasks = ({ mailer, users, accountTokens }: { mailer: Mailer; users: UserService; accountTokens: AccountTokenService }) => [
  sendVerificationEmail.handle({
    async run({ userId }, { job }) {
      const user = await users.findContact(userId);
      if (!user || user.emailVerified) return;
      const code = await accountTokens.issue(user.id, 'verify-email');
      const { subject, text, html } = renderVerificationEmail(user, code);
      await mailer.send({ to: user.email, subject, text, html, key: `verification-${job.id}` });
    },
  }),

  sendPasswordResetEmail.handle({
    async run({ userId }, { job }) {
      if (userId === null) return;
      const user = await users.findContact(userId);
      if (!user) return;
      const code = await accountTokens.issue(user.id, 'reset-password');
      const { subject, text, html } = renderPasswordResetEmail(user, code);
      await mailer.send({ to: user.email, subject, text, html, key: `password-reset-${job.id}` });
    },
  }),
];
