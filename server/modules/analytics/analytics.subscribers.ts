import { subscriber } from '../../events/bus.ts';
import { productEvents } from '../products/product.events.ts';
import { userEvents } from '../users/user.events.ts';
import type { AnalyticsService } from './analytics.service.ts';

/**
 * What analytics records, and from which domain events. Each handler writes through
 * the delivery's transaction, so the row and the "handled" mark commit together and
 * a repeated delivery never records a second row.
 */
export const analyticsSubscribers = ({ analytics }: { analytics: AnalyticsService }) => [
  subscriber(userEvents, 'user.created', 'analytics.signup', async (event, { trx }) => {
    await analytics.track(trx, { name: 'user.signed_up', userId: event.payload.userId, occurredAt: event.occurredAt, eventId: event.id });
  }),

  subscriber(userEvents, 'user.roles_changed', 'analytics.roles-changed', async (event, { trx }) => {
    await analytics.track(trx, {
      name: 'user.roles_changed',
      userId: event.actor?.userId ?? null,
      properties: { targetUserId: event.payload.userId, before: event.payload.before, after: event.payload.after },
      occurredAt: event.occurredAt,
      eventId: event.id,
    });
  }),

  subscriber(productEvents, 'product.created', 'analytics.product-created', async (event, { trx }) => {
    await analytics.track(trx, {
      name: 'product.created',
      userId: event.actor?.userId ?? null,
      properties: { productId: event.payload.productId, price: event.payload.price },
      occurredAt: event.occurredAt,
      eventId: event.id,
    });
  }),

  subscriber(productEvents, 'product.archived', 'analytics.product-archived', async (event, { trx }) => {
    await analytics.track(trx, {
      name: 'product.archived',
      userId: event.actor?.userId ?? null,
      properties: { productId: event.payload.productId },
      occurredAt: event.occurredAt,
      eventId: event.id,
    });
  }),
];
