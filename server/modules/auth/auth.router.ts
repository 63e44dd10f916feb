import { z } from 'zod';
import { router } from '../../trpc/init.ts';
import { authedProcedure, publicProcedure } from '../../trpc/procedures.ts';
import { UserSchema } from '../users/user.schemas.ts';
import type { AuthService } from './auth.service.ts';
import { sessionCookieFor } from './session.cookie.ts';
import { SignInInput, SignInResultSchema, SignUpInput } from './auth.schemas.ts';

const tags = ['auth'];

const SetCookieHeader = z.object({
  'Set-Cookie': z.string().meta({ description: '`session=<token>; HttpOnly; SameSite=Lax; Path=/; Expires=…` (plus `Secure` in production or when PUBLIC_URL is https)' }),
});

/** tRPC `auth.*` ⇄ REST `/api/v1/auth/*`. Sign-up creates the account through the users module (auth.signUp). */
export const authRouter = ({ auth }: { auth: AuthService }) =>
  router({
    signUp: publicProcedure
      .meta({
        openapi: { method: 'POST', path: '/auth/sign-up', tags, summary: 'Create an account (role: member)', errorResponses: { 409: 'An account with this email already exists' } },
        successStatus: 201,
        rateLimited: 'sign-ups per client IP, SIGN_UP_LIMIT_PER_HOUR',
      })
      .input(SignUpInput)
      .output(UserSchema)
      .mutation(({ ctx, input }) => auth.signUp(input, { ip: ctx.req.ip })),

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
      })
      .input(SignInInput)
      .output(SignInResultSchema)
      .mutation(async ({ ctx, input }) => {
        const result = await auth.signIn(input, { ip: ctx.req.ip });
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
