import { router } from '../../trpc/init.ts';
import { authedProcedure, requirePermission } from '../../trpc/procedures.ts';
import { reportPermissions } from './report.permissions.ts';
import type { ReportService } from './report.service.ts';
import { GenerateReportInput, ListReportsInput, ReportAcceptedSchema, ReportIdInput, ReportPageSchema, ReportSchema } from './report.schemas.ts';

const tags = ['reports'];

/**
 * tRPC `reports.*` ⇄ REST `/api/v1/reports`. The PDF itself is served by a plain
 * route, `GET /api/v1/reports/{id}/file` (report.file-route.ts): binary does not fit a
 * JSON procedure.
 */
export const reportRouter = ({ reports }: { reports: ReportService }) =>
  router({
    generate: requirePermission(reportPermissions.request)
      .meta({
        openapi: {
          method: 'POST',
          path: '/reports',
          tags,
          summary: 'Queue a report; it is generated in the background and emailed when ready',
        },
        rateLimited: 'report requests per user per hour, and at most MAX_PENDING_REPORTS unfinished at once',
        successStatus: 202,
      })
      .input(GenerateReportInput)
      .output(ReportAcceptedSchema)
      .mutation(({ ctx, input }) => reports.generate(ctx.actor, input)),

    get: authedProcedure
      .meta({ openapi: { method: 'GET', path: '/reports/{id}', tags, summary: "A report's status, progress and file details (yours, or any with reports:read-all)" }, etag: true })
      .input(ReportIdInput)
      .output(ReportSchema)
      .query(({ ctx, input }) => reports.get(input.id, ctx.actor)),

    list: authedProcedure
      .meta({ openapi: { method: 'GET', path: '/reports', tags, summary: 'Your reports, newest first' } })
      .input(ListReportsInput)
      .output(ReportPageSchema)
      .query(({ ctx, input }) => reports.list(ctx.actor, input)),
  });
