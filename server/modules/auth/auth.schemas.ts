import { z } from 'zod';
import { text } from '../../lib/text.ts';
import { Email, UserSchema } from '../users/user.schemas.ts';

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
