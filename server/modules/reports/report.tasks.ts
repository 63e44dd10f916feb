import { z } from 'zod';
import { defineJob } from '../../jobs/task.ts';
import type { ReportGeneration } from './report.generation.ts';
import type { ReportRetention } from './report.retention.ts';

/** Attempts a report gets: the first and two retries, e^1 ≈ 3 s and e^2 ≈ 7 s apart. */
export const REPORT_MAX_ATTEMPTS = 3;

/**
 * Generates one report (render → store → ready + email). The payload is the report id
 * only: everything else is read when the job runs, so a retry works from the current
 * row and a queued job never carries stale or personal data.
 */
export const generateReport = defineJob({
  name: 'report.generate',
  payload: z.object({ reportId: z.uuid() }),
  maxAttempts: REPORT_MAX_ATTEMPTS,
});

const KEY_PREFIX = `${generateReport.name}:`;

/** The job key of a report's job: one job per report, and recovery can tell which report a lost job was for. */
export const reportJobKey = (reportId: string) => `${KEY_PREFIX}${reportId}`;

/**
 * REPORT_RETENTION_DAYS, applied daily (03:17 UTC): one job per day whatever the number
 * of workers. Retention is counted in days, so once a day is precise enough.
 */
export const expireReports = defineJob({
  name: 'report.expire',
  payload: z.object({}).loose(),
  maxAttempts: 3,
  schedule: '17 3 * * *',
});

/** The reports module's tasks, bound to the services that do the work. */
export const reportTasks = ({ reportGeneration, reportRetention }: { reportGeneration: ReportGeneration; reportRetention: ReportRetention }) => [
  expireReports.handle({
    async run(_payload, { log, job }) {
      await reportRetention.expire({ log, signal: job.signal });
    },
  }),
  generateReport.handle({
    async run({ reportId }, { log, job }) {
      await reportGeneration.run(reportId, { attempt: job.attempt, maxAttempts: job.maxAttempts, signal: job.signal }, log);
    },
    /**
     * A report whose job was lost with its worker on the last attempt (see
     * server/jobs/recovery.ts): the job will not run again, so the report must not stay
     * `processing` forever.
     */
    async onAbandoned(job) {
      const reportId = job.key?.startsWith(KEY_PREFIX) ? job.key.slice(KEY_PREFIX.length) : undefined;
      if (!reportId || !z.uuid().safeParse(reportId).success) return;
      await reportGeneration.abandon(reportId, job.attempts);
    },
  }),
];
