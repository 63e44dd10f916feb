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
