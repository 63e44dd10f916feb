import { listFailedJobs, retryFailedJobs } from '../jobs/failed-jobs.ts';
import { CliError, runWithDatabase } from './with-database.ts';

/**
 * `npm run jobs:failed`: permanently failed jobs (event deliveries and tasks that used
 * all their attempts). `npm run jobs:retry -- <id> [<id>…]`: gives them a fresh set of
 * attempts, due now; a running worker picks them up at once.
 */
const [command, ...args] = process.argv.slice(2);

await runWithDatabase(async (db) => {
  switch (command) {
    case 'failed': {
      const failed = await listFailedJobs(db);
      if (!failed.length) {
        console.log('No permanently failed jobs.');
        return;
      }
      for (const job of failed) {
        console.log(`${job.id}  ${job.task}  attempts ${job.attempts}/${job.maxAttempts}  failed ${job.failedAt.toISOString()}`);
        if (job.lastError) console.log(`    ${job.lastError.split('\n')[0]}`);
      }
      console.log(`\n${failed.length} failed job(s). Retry with: npm run jobs:retry -- <id> [<id>…]`);
      return;
    }
    case 'retry': {
      if (!args.length) throw new CliError('usage: npm run jobs:retry -- <job id> [<job id>…]');
      const retried = await retryFailedJobs(db, args);
      const skipped = args.filter((id) => !retried.includes(id));
      if (retried.length) console.log(`Rescheduled ${retried.length} job(s): ${retried.join(', ')}`);
      if (skipped.length) {
        console.error(`Not permanently failed (unknown, pending, retrying or running): ${skipped.join(', ')}`);
        throw new CliError(`${skipped.length} job(s) not retried`);
      }
      return;
    }
    default:
      throw new CliError('usage: tsx server/cli/jobs.ts <failed|retry <id>…>');
  }
});
