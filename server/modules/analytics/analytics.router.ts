import { router } from '../../trpc/init.ts';
import { requirePermission } from '../../trpc/procedures.ts';
import { AnalyticsEventPageSchema, ListAnalyticsEventsInput } from './analytics.schemas.ts';

const tags = ['analytics'];

/** tRPC `analytics.*` ⇄ REST `/api/v1/analytics`. */
export const analyticsRouter = router({
  list: requirePermission('analytics:read')
    .meta({ openapi: { method: 'GET', path: '/analytics/events', tags, summary: 'List recorded analytics events, newest first' } })
    .input(ListAnalyticsEventsInput)
    .output(AnalyticsEventPageSchema)
    .query(({ ctx, input }) => ctx.services.analytics.list(input)),
});
