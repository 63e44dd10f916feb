import type { Knex } from 'knex';
import { Model } from 'objection';

/**
 * One handled delivery: event `eventId` was handled by `subscriber`. Written in the
 * same transaction as the subscriber's own writes, it is what makes a repeated
 * delivery (after a crash, a retry, a second worker) a no-op.
 */
export class EventDelivery extends Model {
  static override tableName = 'event_deliveries';
  static override idColumn = ['eventId', 'subscriber'];

  eventId!: string;
  subscriber!: string;
  eventName!: string;
  handledAt!: Date;

  /**
   * Marks the event as handled by the subscriber, inside `trx`. False when it already
   * was: then the caller must not handle it again. A concurrent claim of the same pair
   * blocks on the primary key until the first transaction ends.
   */
  static async claim(trx: Knex.Transaction, delivery: { eventId: string; subscriber: string; eventName: string }): Promise<boolean> {
    // Plain knex: Objection's insert returns the input model even when ON CONFLICT skipped it.
    const rows = await trx(EventDelivery.tableName).insert(delivery).onConflict(['eventId', 'subscriber']).ignore().returning('eventId');
    return rows.length > 0;
  }
}
