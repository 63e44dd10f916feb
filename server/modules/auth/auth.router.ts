import { z } from 'zod';
import { router } from '../../trpc/init.ts';
import { authedProcedure, publicProcedure } from '../../trpc/procedures.ts';
import { UserSchema } from '../users/user.schemas.ts';
import type { UserService } from '../users/user.service.ts';
import type { AuthService } from './auth.service.ts';
import { sessionCookieFor } from './session.cookie.ts';
import { SignInInput, SignInResultSchema, SignUpInput } from './auth.schemas.ts';

const tags = ['auth'];

const SetCookieHeader = z.object({
  'Set-Cookie': z.string().meta({ description: '`session=<token>; HttpOnly; SameSite=Lax; Path=/; Expires=…` (plus `Secure` unless on localhost)' }),
});

/** tRPC `auth.*` ⇄ REST `/api/v1/auth/*`. Sign-up creates the account through the users module. */
export const authRouter = ({ auth, users }: { auth: AuthService; users: UserService }) =>
  router({
    signUp: publicProcedure
      .meta({ openapi: { method: 'POST', path: '/auth/sign-up', tags, summary: 'Create an account (role: member)', errorResponses: { 409: 'An account with this email already exists' } }, successStatus: 201 })
      .input(SignUpInput)
      .output(UserSchema)
      .mutation(({ input }) => users.create(input)),

    signIn: publicProcedure
      .meta({
        openapi: {
          method: 'POST',
          path: '/auth/sign-in',
          tags,
          summary: 'Start a session: returns a bearer token and sets the session cookie',
          description: 'A wrong email, a wrong password and a deactivated account all give the same 401. Attempts are limited per client IP and per email (429 with Retry-After).',
          responseHeaders: SetCookieHeader,
          errorResponses: { 401: 'Wrong email or password, or the account is deactivated', 429: 'Too many attempts from this client or for this email; see Retry-After' },
        },
      })
      .input(SignInInput)
      .output(SignInResultSchema)
      .mutation(async ({ ctx, input }) => {
        const result = await auth.signIn(input, { ip: ctx.req.ip });
        sessionCookieFor(ctx.req, ctx.reply).set(result.token, new Date(result.expiresAt));
        return result;
      }),

    signOut: authedProcedure
      .meta({ openapi: { method: 'POST', path: '/auth/sign-out', tags, summary: 'End this session everywhere and clear the cookie' }, successStatus: 204 })
      .input(z.void())
      .output(z.void())
      .mutation(async ({ ctx }) => {
        await auth.signOut(ctx.actor.sessionId);
        sessionCookieFor(ctx.req, ctx.reply).clear();
      }),
  });
