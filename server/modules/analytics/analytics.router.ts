import { router } from '../../trpc/init.ts';
import { requirePermission } from '../../trpc/procedures.ts';
import { analyticsPermissions } from './analytics.permissions.ts';
import { AnalyticsEventPageSchema, ListAnalyticsEventsInput } from './analytics.schemas.ts';
import type { AnalyticsService } from './analytics.service.ts';

const tags = ['analytics'];

/** tRPC `analytics.*` ⇄ REST `/api/v1/analytics`. */
export const analyticsRouter = ({ analytics }: { analytics: AnalyticsService }) =>
  router({
    list: requirePermission(analyticsPermissions.read)
      .meta({ openapi: { method: 'GET', path: '/analytics/events', tags, summary: 'List recorded analytics events, newest first' } })
      .input(ListAnalyticsEventsInput)
      .output(AnalyticsEventPageSchema)
      .query(({ input }) => analytics.list(input)),
  });
