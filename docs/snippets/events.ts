/**
 * Publishing and subscribing as docs/events.md shows it, compiled by `npm run typecheck`
 * against the real event catalog and bus.
 */
import type { Knex } from 'knex';
import type { EventBus } from '../../server/events/bus.ts';
import type { EventActor } from '../../server/events/envelope.ts';
import type { AnalyticsService } from '../../server/modules/analytics/analytics.service.ts';
import { Product } from '../../server/modules/products/product.model.ts';

export class ExampleProductService {
  constructor(private readonly deps: { db: Knex; events: EventBus }) {}

  async create(input: { name: string; price: string }, actor?: EventActor) {
    // #region publish
    // in a service, inside its transaction: the event exists only if the transaction commits
    return this.deps.db.transaction(async (trx) => {
      const product = await Product.query(trx).insert(input).returning('*');
      await this.deps.events.publish(trx, 'product.created', { productId: product.id, name: product.name, price: product.price }, actor);
      return product;
    });
    // #endregion publish
  }
}

export function subscribeExample(events: EventBus, analytics: AnalyticsService): void {
  // #region subscribe
  // in the module that reacts (e.g. server/modules/analytics/analytics.subscribers.ts)
  events.subscribe('product.created', 'analytics.product-created', async (event, { trx }) => {
    await analytics.track(trx, { name: 'product.created', userId: event.actor?.userId ?? null, occurredAt: event.occurredAt, eventId: event.id });
  }, { maxAttempts: 10 });
  // #endregion subscribe
}
