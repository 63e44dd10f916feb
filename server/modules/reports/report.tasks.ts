import { z } from 'zod';
import { defineTask } from '../../jobs/task.ts';

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

/** The job key of a report's job: one job per report. */
export const reportJobKey = (reportId: string) => `${KEY_PREFIX}${reportId}`;
