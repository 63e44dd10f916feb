import type { Knex } from 'knex';

/** A job that used all its attempts and will not run again unless retried. */
export interface FailedJob {
  id: string;
  task: string;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  /** When it failed for the last time. */
  failedAt: Date;
  createdAt: Date;
}

/**
 * Permanently failed jobs, oldest first, read from graphile-worker's public `jobs`
 * view. For an event delivery the task is `event:<event name>:<subscriber>`.
 */
export async function listFailedJobs(db: Knex, opts: { limit?: number } = {}): Promise<FailedJob[]> {
  const { rows } = await db.raw<{ rows: { id: string; task_identifier: string; attempts: number; max_attempts: number; last_error: string | null; updated_at: Date; created_at: Date }[] }>(
    `SELECT id::text, task_identifier, attempts, max_attempts, last_error, updated_at, created_at
       FROM graphile_worker.jobs
      WHERE attempts >= max_attempts AND locked_at IS NULL
      ORDER BY updated_at, id
      LIMIT ?`,
    [opts.limit ?? 1000],
  );
  return rows.map((r) => ({
    id: r.id,
    task: r.task_identifier,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    lastError: r.last_error,
    failedAt: r.updated_at,
    createdAt: r.created_at,
  }));
}

/**
 * Gives permanently failed jobs a fresh set of attempts, due now, and wakes the
 * running workers. Jobs that are not permanently failed (pending, retrying or
 * running) are left alone. Returns the ids that were rescheduled.
 */
export async function retryFailedJobs(db: Knex, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  for (const id of ids) if (!/^\d{1,19}$/.test(id)) throw new Error(`Not a job id: ${id}`);
  return db.transaction(async (trx) => {
    const { rows } = await trx.raw<{ rows: { id: string }[] }>(
      `SELECT j.id::text AS id
         FROM graphile_worker.reschedule_jobs(
                ARRAY(SELECT id FROM graphile_worker.jobs
                       WHERE id = ANY(?::bigint[]) AND attempts >= max_attempts AND locked_at IS NULL),
                run_at => now(), attempts => 0) AS j
        ORDER BY j.id`,
      [`{${ids.join(',')}}`],
    );
    // The same notification add_job sends, so idle workers fetch at once instead of at their next poll.
    if (rows.length) await trx.raw(`SELECT pg_notify('jobs:insert', json_build_object('count', ?::int)::text)`, [rows.length]);
    return rows.map((r) => r.id);
  });
}
