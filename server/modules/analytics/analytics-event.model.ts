import { Model, type QueryBuilder } from 'objection';
import { modelColumns } from '../../db/model-columns.ts';
import { defineList } from '../../lib/pagination.ts';

/** A row of `analytics_events`: something worth counting, and when it happened. */
export class AnalyticsEvent extends Model {
  static override tableName = 'analytics_events';

  id!: string;
  name!: string;
  userId!: string | null;
  properties!: Record<string, unknown>;
  occurredAt!: Date;
  eventId!: string | null;
  recordedAt!: Date;

  /** The columns above, for `npm run db:check` (the compiler keeps the two lists equal). */
  static readonly columns = modelColumns<AnalyticsEvent>()(['id', 'name', 'userId', 'properties', 'occurredAt', 'eventId', 'recordedAt']);

  // jsonb arrives parsed from pg; on the way in, Objection serializes it.
  static override get jsonAttributes() {
    return ['properties'];
  }

  /**
   * `analytics.list`: newest first. Each filter has an index in this order
   * (`analytics_events_newest`, `_name_newest`, `_user_newest`), so a page is one seek.
   */
  static readonly list = defineList({
    name: 'analytics.list',
    table: 'analytics_events',
    direction: 'desc',
    keys: [
      { column: 'occurred_at', type: 'timestamptz' },
      { column: 'id', type: 'uuid' },
    ],
  });

  static override modifiers = {
    named(query: QueryBuilder<AnalyticsEvent>, name: string) {
      void query.where('name', name);
    },
    forUser(query: QueryBuilder<AnalyticsEvent>, userId: string) {
      void query.where('userId', userId);
    },
  };
}
