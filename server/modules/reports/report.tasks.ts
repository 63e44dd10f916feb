import { z } from 'zod';
import { defineTask, type TaskDeps } from '../../jobs/task.ts';

/** Attempts a report gets: the first and two retries, e^1 ≈ 3 s and e^2 ≈ 7 s apart. */
export const REPORT_MAX_ATTEMPTS = 3;

const ReportJobPayload = z.object({ reportId: z.uuid() });

/**
 * Generates one report (render → store → ready + email). The payload is the report id
 * only: everything else is read when the job runs, so a retry works from the current
 * row and a queued job never carries stale or personal data.
 */
export const generateReport = defineTask({
  name: 'report.generate',
  payload: ReportJobPayload,
  maxAttempts: REPORT_MAX_ATTEMPTS,
  async run({ reportId }, { deps, log, job }) {
    await deps.services.reports.run(reportId, { attempt: job.attempt, maxAttempts: job.maxAttempts, signal: job.signal }, log);
  },
});

const KEY_PREFIX = `${generateReport.name}:`;

/** The job key of a report's job: one job per report, and recovery can tell which report a lost job was for. */
export const reportJobKey = (reportId: string) => `${KEY_PREFIX}${reportId}`;

/**
 * Settles a report whose job was lost with its worker on the last attempt (see
 * server/jobs/recovery.ts): the job will not run again, so the report must not stay
 * `processing` forever.
 */
export async function abandonedReport(deps: Pick<TaskDeps, 'services'>, job: { key: string | null; attempts: number }): Promise<void> {
  const reportId = job.key?.startsWith(KEY_PREFIX) ? job.key.slice(KEY_PREFIX.length) : undefined;
  if (!reportId || !z.uuid().safeParse(reportId).success) return;
  await deps.services.reports.abandon(reportId, job.attempts);
}
