import { z } from 'zod';
import { defineEvents } from '../../events/catalog.ts';

/** What the users module publishes. */
export const userEvents = defineEvents({
  /** A user account was created (sign-up or by an admin). */
  'user.created': z.object({
    userId: z.string().min(1),
    email: z.string().min(3),
    name: z.string(),
  }),
  /**
   * Someone signed up with the address of an existing account. Sign-up answers as if
   * the account were new (so nobody learns which addresses have accounts); the owner
   * is told by mail instead.
   */
  'user.sign_up_attempted': z.object({
    userId: z.string().min(1),
  }),
  /** A user account was deactivated; it can no longer sign in. */
  'user.deactivated': z.object({
    userId: z.string().min(1),
  }),
  /** A user's roles were replaced (the actor of the event is who did it). */
  'user.roles_changed': z.object({
    userId: z.string().min(1),
    before: z.array(z.string()),
    after: z.array(z.string()),
  }),
});

export type UserEvents = typeof userEvents;
