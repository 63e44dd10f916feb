import { z } from 'zod';
import { listPageSchema, listQueryFields } from '../../lib/pagination.ts';
import { REPORT_KINDS, REPORT_STATUSES } from './report.model.ts';

export const ReportKindSchema = z.enum(REPORT_KINDS).meta({ description: 'What to report on. `product-catalog`: every active product with its price, the count and the exact total' });
export const ReportStatusSchema = z
  .enum(REPORT_STATUSES)
  .meta({ description: 'pending (queued) → processing → ready (file available) | failed (see errorMessage)' });

export const GenerateReportInput = z.object({ kind: ReportKindSchema });

export const ReportIdInput = z.object({ id: z.uuid() });

export const ListReportsInput = z.object({ ...listQueryFields });

export const ReportAcceptedSchema = z
  .object({
    id: z.uuid(),
    status: z.literal('pending'),
  })
  .meta({ id: 'ReportAccepted', description: 'The report is queued; poll GET /reports/{id} or wait for the email' });

export const ReportSchema = z
  .object({
    id: z.uuid(),
    ownerId: z.uuid(),
    kind: ReportKindSchema,
    status: ReportStatusSchema,
    progress: z.number().int().min(0).max(100).meta({ description: 'Percent of the rows rendered; 100 once ready' }),
    attempts: z.number().int().min(0).meta({ description: 'Generation attempts started so far (at most 3)' }),
    errorMessage: z.string().nullable().meta({ description: 'Why the report failed; null unless failed' }),
    fileSize: z.number().int().min(0).nullable().meta({ description: 'Size of the PDF in bytes; null until ready' }),
    fileUrl: z.string().nullable().meta({ description: 'Where to download the PDF (same authentication); null until ready' }),
    createdAt: z.iso.datetime(),
    startedAt: z.iso.datetime().nullable().meta({ description: 'When generation first started' }),
    completedAt: z.iso.datetime().nullable().meta({ description: 'When the report became ready or failed' }),
  })
  .meta({ id: 'Report' });

export const ReportPageSchema = listPageSchema(ReportSchema, 'ReportPage', 'reports');

export type GenerateReportInput = z.output<typeof GenerateReportInput>;
export type ListReportsInput = z.output<typeof ListReportsInput>;
export type ReportAcceptedDto = z.output<typeof ReportAcceptedSchema>;
export type ReportDto = z.output<typeof ReportSchema>;
export type ReportPage = z.output<typeof ReportPageSchema>;
