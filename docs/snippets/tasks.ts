/**
 * Adding a job from a service, as docs/jobs-and-reports.md shows it, compiled by
 * `npm run typecheck` against the real job definition and queue.
 */
import type { Knex } from 'knex';
import type { JobQueue } from '../../server/jobs/queue.ts';
import { generateReport, reportJobKey } from '../../server/modules/reports/report.tasks.ts';

export async function enqueueExample(deps: { db: Knex; jobs: Pick<JobQueue, 'add'> }, reportId: string): Promise<void> {
  // #region add
  // in the service, inside its transaction: the job exists only if the transaction commits
  await deps.db.transaction(async (trx) => {
    // ... the service's own writes through trx ...
    await deps.jobs.add(trx, generateReport, { reportId }, { jobKey: reportJobKey(reportId) });
  });
  // #endregion add
}
