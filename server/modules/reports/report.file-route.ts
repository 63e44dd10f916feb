import { errorHeaders, HTTP_STATUS, INPUT_VALIDATION_MESSAGE, toErrorBody, toTRPCError, UnauthorizedError, ValidationError } from '../../errors.ts';
import { errorResponse } from '../../http/openapi.ts';
import type { PlainRoute } from '../../http/plain-route.ts';
import { ReportIdInput } from './report.schemas.ts';
import type { ReportService } from './report.service.ts';

/** The download route, relative to the REST prefix, as the OpenAPI document spells it. */
export const REPORT_FILE_PATH = '/reports/{id}/file';

/**
 * `GET /api/v1/reports/{id}/file`: the PDF of a ready report, streamed from storage.
 *
 * A plain Fastify route, because a binary body does not fit a JSON procedure; it
 * still builds the same request context as both doors (so the same session rules:
 * bearer token or cookie), answers errors with the same body, and asks the same
 * service, so the owner-or-`reports:read-all` rule and its 404 are the ones
 * `reports.get` applies.
 */
export const reportFileRoute = ({
  reports,
  presign,
}: {
  reports: ReportService;
  /** S3_PRESIGN: answer 302 to a short-lived URL of the file instead of streaming it. */
  presign?: () => { expiresInSeconds: number } | undefined;
}): PlainRoute => ({
  method: 'GET',
  path: REPORT_FILE_PATH,
  operation: reportFileOperation.get,
  register: (fastify, opts) => {
  const presigned = presign?.();
  fastify.get(opts.prefix + REPORT_FILE_PATH.replace('{id}', ':id'), async (request, reply) => {
    try {
      const ctx = await opts.createContext({ req: request, res: reply });
      if (!ctx.actor) throw ctx.authRejection ?? new UnauthorizedError();
      const parsed = ReportIdInput.safeParse(request.params);
      if (!parsed.success) {
        throw new ValidationError(
          INPUT_VALIDATION_MESSAGE,
          parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message, code: i.code })),
        );
      }
      if (presigned) {
        const url = await reports.presignedFileUrl(parsed.data.id, ctx.actor, presigned);
        if (url) return reply.code(302).header('location', url).header('cache-control', 'private, no-store').send();
      }
      const file = await reports.openFile(parsed.data.id, ctx.actor);
      return reply
        .header('content-type', 'application/pdf')
        .header('content-length', file.size)
        .header('content-disposition', `attachment; filename="${file.fileName}"`)
        // The file is the owner's: no shared cache may keep it.
        .header('cache-control', 'private, no-store')
        .send(file.stream);
    } catch (cause) {
      const error = toTRPCError(cause);
      const body = toErrorBody(error, { isProduction: opts.isProduction });
      if (body.code === 'INTERNAL_SERVER_ERROR') request.log.error({ err: cause }, 'report download failed');
      return reply.code(HTTP_STATUS[body.code]).headers(errorHeaders(error)).send(body);
    }
  });
  },
});

/**
 * The route's entry in the OpenAPI document: trpc-to-openapi describes procedures
 * only, and clients generated from the document should know the download too.
 */
export const reportFileOperation = {
  get: {
    operationId: 'reports-file',
    summary: 'Download a ready report as PDF (yours, or any with reports:read-all)',
    tags: ['reports'],
    security: [{ bearerAuth: [] }, { sessionCookie: [] }],
    'x-access': 'signed-in',
    parameters: [{ in: 'path', name: 'id', required: true, schema: { type: 'string', format: 'uuid' } }],
    responses: {
      '200': {
        description: 'The PDF',
        headers: { 'Content-Disposition': { schema: { type: 'string' }, description: 'attachment; filename="product-catalog-<date>-<id>.pdf"' } },
        content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } },
      },
      '302': {
        description: 'With S3_PRESIGN=true: the PDF is at the short-lived URL in Location',
        headers: { Location: { schema: { type: 'string', format: 'uri' } } },
      },
      '400': errorResponse('Invalid input: `issues` lists each offending field'),
      '401': errorResponse('Not signed in, or the session is invalid or expired'),
      '404': errorResponse('No such report, or not yours'),
      '409': errorResponse('The report is not ready (pending, processing or failed)'),
      '500': errorResponse('Unexpected server fault'),
      '503': errorResponse('Report storage is unavailable for now; retry after the Retry-After seconds'),
    },
  },
};
