import type { Knex } from 'knex';
import { defineModule } from '../../lib/module.ts';
import { analyticsPermissions } from './analytics.permissions.ts';
import { analyticsRouter } from './analytics.router.ts';
import { AnalyticsService } from './analytics.service.ts';
import { analyticsSubscribers } from './analytics.subscribers.ts';

/** What happened, recorded from other modules' events; readable with `analytics:read`. */
export const analyticsModule = defineModule({
  name: 'analytics',
  services: {
    analytics: ({ db }: { db: Knex }) => new AnalyticsService({ db }),
  },
  router: analyticsRouter,
  subscribers: analyticsSubscribers,
  permissions: Object.values(analyticsPermissions),
});
