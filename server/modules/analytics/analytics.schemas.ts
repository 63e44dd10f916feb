import { z } from 'zod';

export const ListAnalyticsEventsInput = z.object({
  page: z.number().int().min(1).default(1).meta({ description: 'Page number, from 1' }),
  size: z.number().int().min(1).max(100).default(20).meta({ description: 'Items per page, 1–100' }),
  name: z.string().min(1).max(200).optional().meta({ description: 'Only events with this name, e.g. user.signed_up' }),
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

export const AnalyticsEventPageSchema = z
  .object({
    items: z.array(AnalyticsEventSchema),
    total: z.number().int().meta({ description: 'Matching events across all pages' }),
    page: z.number().int(),
    size: z.number().int(),
    pages: z.number().int().meta({ description: 'Number of pages at this size' }),
  })
  .meta({ id: 'AnalyticsEventPage' });

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
