import { z } from 'zod';
import { router } from '../../trpc/init.ts';
import { authedProcedure, publicProcedure } from '../../trpc/procedures.ts';
import type { AuthService } from './auth.service.ts';
import { sessionCookieFor } from './session.cookie.ts';
import {
  ChangePasswordInput,
  PasswordResetRequestedSchema,
  RequestPasswordResetInput,
  ResetPasswordInput,
  SignInInput,
  SignInResultSchema,
  SignUpInput,
  SignUpResultSchema,
  VerificationSentSchema,
  VerifyEmailInput,
} from './auth.schemas.ts';

const tags = ['auth'];

const SetCookieHeader = z.object({
  'Set-Cookie': z.string().meta({ description: '`session=<token>; HttpOnly; SameSite=Lax; Path=/; Expires=…` (plus `Secure` in production or when PUBLIC_URL is https)' }),
});

/** The client of a request, for limits and the session list. */
const clientOf = (req: { ip: string; headers: Record<string, string | string[] | undefined> }) => {
  const ua = req.headers['user-agent'];
  return { ip: req.ip, userAgent: typeof ua === 'string' ? ua : undefined };
};

const MAIL_LIMIT = 'account mails per client IP and per address, PASSWORD_RESET_LIMIT_PER_HOUR';
const BAD_CODE_RESPONSE = { 400: 'Invalid input, or the code is wrong, already used or expired (`issues[0].path` is `token`)' };

/** tRPC `auth.*` ⇄ REST `/api/v1/auth/*`. Sign-up creates the account through the users module (auth.signUp). */
export const authRouter = ({ auth }: { auth: AuthService }) =>
  router({
    signUp: publicProcedure
      .meta({
        openapi: {
          method: 'POST',
          path: '/auth/sign-up',
          tags,
          summary: 'Create an account (role: member); the same 202 whether or not the address already has one',
          description:
            'A new address gets a welcome mail with its verification code; an address that already has an account gets a "someone tried to sign up with your address" mail instead, and its account is not changed. Then sign in with auth.signIn.',
        },
        successStatus: 202,
        rateLimited: 'sign-ups per client IP, SIGN_UP_LIMIT_PER_HOUR',
      })
      .input(SignUpInput)
      .output(SignUpResultSchema)
      .mutation(({ ctx, input }) => auth.signUp(input, clientOf(ctx.req))),

    verifyEmail: publicProcedure
      .meta({
        openapi: { method: 'POST', path: '/auth/verify-email', tags, summary: 'Verify the account\'s email address with the code from the mail (single use)', errorResponses: BAD_CODE_RESPONSE },
        successStatus: 204,
      })
      .input(VerifyEmailInput)
      .output(z.void())
      .mutation(({ input }) => auth.verifyEmail(input.token)),

    resendVerification: authedProcedure
      .meta({
        openapi: {
          method: 'POST',
          path: '/auth/resend-verification',
          tags,
          summary: 'Mail a new verification code to your address (the previous one stops working)',
          errorResponses: { 409: 'Your address is already verified' },
        },
        successStatus: 202,
        rateLimited: MAIL_LIMIT,
      })
      .input(z.void())
      .output(VerificationSentSchema)
      .mutation(({ ctx }) => auth.resendVerification(ctx.actor, clientOf(ctx.req))),

    requestPasswordReset: publicProcedure
      .meta({
        openapi: {
          method: 'POST',
          path: '/auth/password-reset/request',
          tags,
          summary: 'Mail a password-reset code; the same 202 whether or not the address has an account',
        },
        successStatus: 202,
        rateLimited: MAIL_LIMIT,
      })
      .input(RequestPasswordResetInput)
      .output(PasswordResetRequestedSchema)
      .mutation(({ ctx, input }) => auth.requestPasswordReset(input.email, clientOf(ctx.req))),

    resetPassword: publicProcedure
      .meta({
        openapi: {
          method: 'POST',
          path: '/auth/password-reset',
          tags,
          summary: 'Choose a new password with the mailed code (single use); ends every session of the account',
          errorResponses: BAD_CODE_RESPONSE,
        },
        successStatus: 204,
      })
      .input(ResetPasswordInput)
      .output(z.void())
      .mutation(({ input }) => auth.resetPassword(input)),

    changePassword: authedProcedure
      .meta({
        openapi: {
          method: 'POST',
          path: '/auth/change-password',
          tags,
          summary: 'Change your password (needs the current one); ends your other sessions, keeps this one',
          errorResponses: { 400: 'Invalid input, or the current password is wrong (`issues[0].path` is `currentPassword`)' },
        },
        successStatus: 204,
        rateLimited: 'counted as sign-in attempts against your account',
      })
      .input(ChangePasswordInput)
      .output(z.void())
      .mutation(({ ctx, input }) => auth.changePassword(ctx.actor, input, clientOf(ctx.req))),

    signIn: publicProcedure
      .meta({
        openapi: {
          method: 'POST',
          path: '/auth/sign-in',
          tags,
          summary: 'Start a session: returns a bearer token and sets the session cookie',
          description: 'A wrong email, a wrong password and a deactivated account all give the same 401. Attempts are limited per client IP, per (IP, account) and per account (429 with Retry-After).',
          responseHeaders: SetCookieHeader,
          errorResponses: { 401: 'Wrong email or password, or the account is deactivated' },
        },
        rateLimited: 'sign-in attempts per client IP, per (IP, account) and per account',
        // Repeating a sign-in is harmless (another session), and a stored response would
        // keep a bearer token in plain text: no Idempotency-Key here.
        idempotency: false,
      })
      .input(SignInInput)
      .output(SignInResultSchema)
      .mutation(async ({ ctx, input }) => {
        const result = await auth.signIn(input, clientOf(ctx.req));
        sessionCookieFor(ctx.reply, { secure: auth.secureCookies }).set(result.token, new Date(result.expiresAt));
        return result;
      }),

    signOut: authedProcedure
      .meta({ openapi: { method: 'POST', path: '/auth/sign-out', tags, summary: 'End this session everywhere and clear the cookie' }, successStatus: 204 })
      .input(z.void())
      .output(z.void())
      .mutation(async ({ ctx }) => {
        await auth.signOut(ctx.actor.sessionId);
        sessionCookieFor(ctx.reply, { secure: auth.secureCookies }).clear();
      }),
  });
