import { plainRoute, type PlainResponse } from '../../http/plain-route.ts';
import { authedProcedure } from '../../trpc/procedures.ts';
import { ReportIdInput } from './report.schemas.ts';
import type { ReportService } from './report.service.ts';

/**
 * `GET /api/v1/reports/{id}/file`: the PDF of a ready report, streamed from storage.
 *
 * A plain route, because a binary body does not fit a JSON procedure; otherwise it is
 * built like one (same access builder, input schema, error body and OpenAPI entry), and
 * asks the same service, so the owner-or-`reports:read-all` rule and its 404 are the
 * ones `reports.get` applies.
 */
export const reportFileRoute = ({
  reports,
  presign,
}: {
  reports: ReportService;
  /** S3_PRESIGN: answer 302 to a short-lived URL of the file instead of streaming it. */
  presign?: () => { expiresInSeconds: number } | undefined;
}) =>
  plainRoute(
    'reports.file',
    authedProcedure
      .meta({
        openapi: {
          method: 'GET',
          path: '/reports/{id}/file',
          tags: ['reports'],
          summary: 'Download a ready report as PDF (yours, or any with reports:read-all)',
          errorResponses: {
            409: 'The report is not ready (pending, processing or failed)',
            503: 'Report storage is unavailable for now; retry after the Retry-After seconds',
          },
        },
      })
      .input(ReportIdInput),
    {
      response: {
        description: 'The PDF',
        contentType: 'application/pdf',
        headers: { 'Content-Disposition': { description: 'attachment; filename="product-catalog-<date>-<id>.pdf"' } },
        others: {
          '302': {
            description: 'With S3_PRESIGN=true: the PDF is at the short-lived URL in Location',
            headers: { Location: { schema: { type: 'string', format: 'uri' } } },
          },
        },
      },
      async handle({ ctx, input }): Promise<PlainResponse> {
        const presigned = presign?.();
        if (presigned) {
          const url = await reports.presignedFileUrl(input.id, ctx.actor, presigned);
          if (url) return { status: 302, headers: { location: url, 'cache-control': 'private, no-store' }, body: undefined };
        }
        const file = await reports.openFile(input.id, ctx.actor);
        return {
          headers: {
            'content-type': 'application/pdf',
            'content-length': file.size,
            'content-disposition': `attachment; filename="${file.fileName}"`,
            // The file is the owner's: no shared cache may keep it.
            'cache-control': 'private, no-store',
          },
          body: file.stream,
        };
      },
    },
  );
