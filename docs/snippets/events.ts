/**
 * Publishing and subscribing as docs/events.md shows it, compiled by `npm run typecheck`
 * against the real event definitions and bus.
 */
import type { Knex } from 'knex';
import { subscriber, type EventPublisher } from '../../server/events/bus.ts';
import type { EventActor } from '../../server/events/envelope.ts';
import type { AnalyticsService } from '../../server/modules/analytics/analytics.service.ts';
import { productEvents, type ProductEvents } from '../../server/modules/products/product.events.ts';
import { Product } from '../../server/modules/products/product.model.ts';

// #region publish
// A service gets a publisher typed by its own module's events (see product.module.ts) ...
export class ExampleProductService {
  constructor(private readonly deps: { db: Knex; events: EventPublisher<ProductEvents> }) {}

  async create(input: { name: string; price: string }, actor?: EventActor) {
    // ... and publishes inside its transaction: the event exists only if the transaction commits.
    return this.deps.db.transaction(async (trx) => {
      const product = await Product.query(trx).insert(input).returning('*');
      await this.deps.events.publish(trx, 'product.created', { productId: product.id, name: product.name, price: product.price }, actor);
      return product;
    });
  }
}
// #endregion publish

// #region subscribe
// In the module that reacts (e.g. server/modules/analytics/analytics.subscribers.ts), listed in
// its manifest's `subscribers`; built from the services the handlers use.
export const exampleSubscribers = ({ analytics }: { analytics: AnalyticsService }) => [
  subscriber(productEvents, 'product.created', 'analytics.product-created', async (event, { trx }) => {
    await analytics.track(trx, { name: 'product.created', userId: event.actor?.userId ?? null, occurredAt: event.occurredAt, eventId: event.id });
  }, { maxAttempts: 10 }),
];
// #endregion subscribe
