import { z } from 'zod';
import { text } from '../../lib/text.ts';
import { listPageSchema, listQueryFields } from '../../lib/pagination.ts';

export const ListAnalyticsEventsInput = z.object({
  ...listQueryFields,
  name: text().min(1).max(200).optional().meta({ description: 'Only events with this name, e.g. user.signed_up' }),
  userId: z.uuid().optional().meta({ description: 'Only events about this user' }),
});

export const AnalyticsEventSchema = z
  .object({
    id: z.uuid(),
    name: z.string().meta({ example: 'user.signed_up' }),
    userId: z.uuid().nullable(),
    properties: z.record(z.string(), z.unknown()).meta({ description: 'Free-form details of the event' }),
    occurredAt: z.iso.datetime(),
    eventId: z.uuid().nullable().meta({ description: 'The domain event it was recorded from' }),
  })
  .meta({ id: 'AnalyticsEvent' });

export const AnalyticsEventPageSchema = listPageSchema(AnalyticsEventSchema, 'AnalyticsEventPage', 'events');

export type ListAnalyticsEventsInput = z.output<typeof ListAnalyticsEventsInput>;
export type AnalyticsEventDto = z.output<typeof AnalyticsEventSchema>;
export type AnalyticsEventPage = z.output<typeof AnalyticsEventPageSchema>;

/** What a subscriber records. */
export interface TrackInput {
  name: string;
  userId: string | null;
  properties?: Record<string, unknown>;
  occurredAt: string | Date;
  eventId?: string;
}
