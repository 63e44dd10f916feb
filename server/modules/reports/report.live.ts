import { z } from 'zod';
import { RefetchEventSchema, resumable } from '../../live/live.ts';
import { ReportSchema } from './report.schemas.ts';

/** The live topic of one report's status and progress (`reports.watch`). */
export const reportTopic = (reportId: string) => `report:${reportId}`;

export const ReportUpdateSchema = z
  .object({
    type: z.literal('report'),
    report: ReportSchema,
  })
  .meta({ id: 'ReportUpdate', description: "The report as it is now: status and progress. The stream ends after `ready` or `failed`." });

/** What `reports.watch` streams: the report's state (first the current one), or the signal to refetch it. */
export const ReportWatchEventSchema = z.union([ReportUpdateSchema, RefetchEventSchema]).meta({ id: 'ReportWatchEvent' });

export const WatchReportInput = z.object({ id: z.uuid(), ...resumable });

export type ReportUpdate = z.output<typeof ReportUpdateSchema>;
export type WatchReportInput = z.output<typeof WatchReportInput>;

/** `ready` and `failed` are final: nothing follows them. */
export const isSettled = (event: ReportUpdate | { type: string }) => event.type === 'report' && ['ready', 'failed'].includes((event as ReportUpdate).report.status);
