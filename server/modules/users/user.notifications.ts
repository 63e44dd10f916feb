import type { Knex } from 'knex';
import { z } from 'zod';
import { RefetchEventSchema, resumable, type Live } from '../../live/live.ts';

/** The live topic of one user's notifications. */
export const userTopic = (userId: string) => `user:${userId}`;

export const UserNotificationSchema = z
  .object({
    type: z.literal('notification'),
    kind: z.string().meta({ description: 'What it is about, e.g. `report.ready` or `report.failed`' }),
    message: z.string().meta({ description: 'One line for the person' }),
    resourceId: z.uuid().nullable().meta({ description: 'The id of what it is about (the report), if any' }),
    link: z.string().nullable().meta({ description: 'Where to go next (a download path under /api/v1), if anywhere' }),
    at: z.iso.datetime(),
  })
  .meta({ id: 'UserNotification', description: 'Something for the signed-in user, e.g. "your report is ready"' });

export const UserNotificationsEventSchema = z.union([UserNotificationSchema, RefetchEventSchema]).meta({ id: 'UserNotificationsEvent' });

export const UserNotificationsInput = z.object({ ...resumable });

export type UserNotification = z.output<typeof UserNotificationSchema>;

/** A user's live notifications: other modules send them inside their transactions, `users.notifications` streams them. */
export class UserNotifications {
  constructor(private readonly deps: { live: Pick<Live, 'publish' | 'stream'> }) {}

  /** Sent on commit of `trx`, never on rollback. */
  notify(trx: Knex.Transaction, userId: string, notification: Omit<UserNotification, 'type' | 'at'>): Promise<string> {
    return this.deps.live.publish(trx, userTopic(userId), { type: 'notification', at: new Date().toISOString(), ...notification } satisfies UserNotification);
  }

  stream(userId: string, opts: { lastEventId?: string | null | undefined; signal?: AbortSignal | undefined }) {
    return this.deps.live.stream<UserNotification>({ topic: userTopic(userId), lastEventId: opts.lastEventId, signal: opts.signal });
  }
}
