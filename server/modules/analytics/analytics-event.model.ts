import { Model, type QueryBuilder } from 'objection';
import { modelColumns } from '../../db/model-columns.ts';

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

  static override modifiers = {
    named(query: QueryBuilder<AnalyticsEvent>, name: string) {
      void query.where('name', name);
    },
    forUser(query: QueryBuilder<AnalyticsEvent>, userId: string) {
      void query.where('userId', userId);
    },
    /** Newest first; the id breaks ties so pages never repeat or skip a row. */
    newestFirst(query: QueryBuilder<AnalyticsEvent>) {
      void query.orderBy([
        { column: 'occurredAt', order: 'desc' },
        { column: 'id', order: 'desc' },
      ]);
    },
  };
}
