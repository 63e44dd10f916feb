import type { Knex } from 'knex';
import { fetchPage } from '../../lib/pagination.ts';
import { AnalyticsEvent } from './analytics-event.model.ts';
import type { AnalyticsEventDto, AnalyticsEventPage, ListAnalyticsEventsInput, TrackInput } from './analytics.schemas.ts';

/** Analytics: records what happened (from domain events) and lists it for admins. */
export class AnalyticsService {
  constructor(private readonly deps: { db: Knex }) {}

  /** Records one event on `db`; subscribers pass their delivery transaction. */
  async track(db: Knex, input: TrackInput): Promise<AnalyticsEventDto> {
    const row = await AnalyticsEvent.query(db)
      .insert({
        name: input.name,
        userId: input.userId,
        properties: input.properties ?? {},
        occurredAt: new Date(input.occurredAt),
        eventId: input.eventId ?? null,
      })
      .returning('*');
    return toAnalyticsEventDto(row);
  }

  async list(query: ListAnalyticsEventsInput): Promise<AnalyticsEventPage> {
    const filtered = AnalyticsEvent.query(this.deps.db);
    if (query.name) filtered.modify('named', query.name);
    if (query.userId) filtered.modify('forUser', query.userId);
    const page = await fetchPage(AnalyticsEvent.list, filtered, query, { name: query.name, userId: query.userId });
    return { ...page, items: page.items.map(toAnalyticsEventDto) };
  }
}

export function toAnalyticsEventDto(e: AnalyticsEvent): AnalyticsEventDto {
  return {
    id: e.id,
    name: e.name,
    userId: e.userId,
    properties: e.properties,
    occurredAt: e.occurredAt.toISOString(),
    eventId: e.eventId,
  };
}
