import type { EventBus } from '../../events/bus.ts';
import type { AnalyticsService } from './analytics.service.ts';

/**
 * What analytics records, and from which domain events. Each handler writes through
 * the delivery's transaction, so the row and the "handled" mark commit together and
 * a repeated delivery never records a second row.
 */
export function subscribeAnalytics(events: EventBus, deps: { analytics: AnalyticsService }): void {
  const { analytics } = deps;

  events.subscribe('user.created', 'analytics.signup', async (event, { trx }) => {
    await analytics.track(trx, { name: 'user.signed_up', userId: event.payload.userId, occurredAt: event.occurredAt, eventId: event.id });
  });

  events.subscribe('product.created', 'analytics.product-created', async (event, { trx }) => {
    await analytics.track(trx, {
      name: 'product.created',
      userId: event.actor?.userId ?? null,
      properties: { productId: event.payload.productId, price: event.payload.price },
      occurredAt: event.occurredAt,
      eventId: event.id,
    });
  });

  events.subscribe('product.archived', 'analytics.product-archived', async (event, { trx }) => {
    await analytics.track(trx, {
      name: 'product.archived',
      userId: event.actor?.userId ?? null,
      properties: { productId: event.payload.productId },
      occurredAt: event.occurredAt,
      eventId: event.id,
    });
  });
}
