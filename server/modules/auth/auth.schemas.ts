import { z } from 'zod';
import { text } from '../../lib/text.ts';
import { Email, Password, UserSchema } from '../users/user.schemas.ts';

export { NewUserInput as SignUpInput } from '../users/user.schemas.ts';

/** The password is not length-checked here: a wrong one is a 401 like any other. */
export const SignInInput = z.object({
  email: Email,
  password: text().min(1).max(1024),
});

export const SignInResultSchema = z
  .object({
    token: z.string().meta({ description: 'Session token: send it as `Authorization: Bearer <token>` (the session cookie carries the same)' }),
    expiresAt: z.iso.datetime().meta({ description: 'When the session ends unless used; using it in its second half extends it by 30 days' }),
    user: UserSchema,
  })
  .meta({ id: 'SignInResult' });

export type SignInInput = z.output<typeof SignInInput>;
export type SignInResult = z.output<typeof SignInResultSchema>;

export const SignUpResultSchema = z
  .object({
    message: z.string().meta({ description: 'The same text whether or not the address already had an account' }),
  })
  .meta({ id: 'SignUpAccepted' });

/** A code mailed by verification or password reset: 32 characters of a–z and 2–7. */
export const MailedToken = text()
  .trim()
  .min(1)
  .max(100)
  .meta({ description: 'The code from the mail (32 characters, a–z and 2–7)', example: 'k3xq7v2m5n4p6r2s7t3u4w5y6z2a3b4c' });

export const VerifyEmailInput = z.object({ token: MailedToken });

export const VerificationSentSchema = z.object({ message: z.string() }).meta({ id: 'VerificationSent' });

export const RequestPasswordResetInput = z.object({ email: Email });

export const PasswordResetRequestedSchema = z
  .object({
    message: z.string().meta({ description: 'The same text whether or not the address has an account' }),
  })
  .meta({ id: 'PasswordResetRequested' });

export const ResetPasswordInput = z.object({ token: MailedToken, password: Password });

export const ChangePasswordInput = z.object({
  /** Checked like a sign-in password: a wrong one is a 400 on `currentPassword`. */
  currentPassword: text().min(1).max(1024),
  newPassword: Password,
});

export type SignUpResult = z.output<typeof SignUpResultSchema>;
export type ResetPasswordInput = z.output<typeof ResetPasswordInput>;
export type ChangePasswordInput = z.output<typeof ChangePasswordInput>;
