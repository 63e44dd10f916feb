import type { Knex } from 'knex';
import type { QueueStat } from '../observability/metrics.ts';

/**
 * Queue depth per task, the age of the oldest due job and the permanently failed
 * ones, in one scan of graphile-worker's jobs table (which holds only unfinished
 * jobs: completed ones are deleted). Read by the metrics, at most once per interval.
 */
export async function readQueueStats(db: Knex): Promise<QueueStat[]> {
  const { rows } = await db.raw<{ rows: { task: string; pending: number; oldest: number; failed: number }[] }>(
    `SELECT t.identifier AS task,
            count(*) FILTER (WHERE j.is_available AND j.run_at <= now())::int AS pending,
            COALESCE(EXTRACT(EPOCH FROM now() - min(j.run_at) FILTER (WHERE j.is_available AND j.run_at <= now())), 0)::float8 AS oldest,
            count(*) FILTER (WHERE j.attempts >= j.max_attempts AND j.locked_at IS NULL)::int AS failed
       FROM graphile_worker._private_jobs j
       JOIN graphile_worker._private_tasks t ON t.id = j.task_id
      GROUP BY t.identifier`,
  );
  return rows.map((r) => ({ task: r.task, pending: r.pending, oldestPendingSeconds: Math.max(0, r.oldest), failed: r.failed }));
}
