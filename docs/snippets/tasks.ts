/**
 * A background task as docs/jobs-and-reports.md shows it, compiled by `npm run typecheck`
 * against the real task and queue types.
 */
import type { Knex } from 'knex';
import { z } from 'zod';
import type { JobQueue } from '../../server/jobs/queue.ts';
import { defineTask } from '../../server/jobs/task.ts';

// #region define
export const generateReport = defineTask({
  name: 'report.generate',                       // dotted lowercase
  payload: z.object({ reportId: z.uuid() }),     // validated when added and when run
  maxAttempts: 3,                                // default 10
  async run({ reportId }, { deps, log, job }) {  // deps: config, db, services, events, jobs, mailer
    // job: { id, attempt, maxAttempts, signal }; log: scoped to this job
    await deps.services.reports.run(reportId, { attempt: job.attempt, maxAttempts: job.maxAttempts, signal: job.signal }, log);
  },
});
// #endregion define

export async function enqueueExample(deps: { db: Knex; jobs: JobQueue }, reportId: string): Promise<void> {
  // #region add
  // in the service, inside its transaction: the job exists only if the transaction commits
  await deps.db.transaction(async (trx) => {
    await deps.jobs.add(trx, generateReport, { reportId }, { jobKey: `report.generate:${reportId}`, runAt: new Date(), priority: 0 });
  });
  // #endregion add
}
